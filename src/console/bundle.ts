import { join } from "node:path";

/**
 * The console's front end (src/console/ui, Preact + TSX) as one script and one style sheet.
 * `scripts/build.ts` bundles it before compiling and embeds the result (`--asset dist/console`,
 * /$bunfs/root/console/ inside the binary); from source the service bundles it on the first
 * request for it, so `npm start` needs no build step.
 */

interface ConsoleBundle {
  js: Uint8Array<ArrayBuffer>;
  css: Uint8Array<ArrayBuffer>;
}

const ENTRY = join(import.meta.dir, "ui", "main.tsx");
/** Inside a compiled binary: where build.ts put the bundle. */
const EMBEDDED = "/$bunfs/root/console";
export const BUNDLE_FILES = { js: "app.js", css: "app.css" } as const;

export async function bundleConsole(): Promise<ConsoleBundle> {
  const result = await Bun.build({ entrypoints: [ENTRY], target: "browser", minify: true, naming: { entry: "app.[ext]", asset: "[name].[ext]" } });
  if (!result.success) throw new AggregateError(result.logs, "the console's front end does not build");
  const js = result.outputs.find((o) => o.path.endsWith(".js"));
  const css = result.outputs.find((o) => o.path.endsWith(".css"));
  if (!js || !css) throw new Error("the console bundle lacks its script or its style sheet");
  return { js: new Uint8Array(await js.arrayBuffer()), css: new Uint8Array(await css.arrayBuffer()) };
}

let loaded: Promise<ConsoleBundle> | undefined;

/** The embedded bundle in a compiled binary, else a fresh one (built once per process). */
export function consoleBundle(): Promise<ConsoleBundle> {
  loaded ??= (async () => {
    if (!import.meta.dir.startsWith("/$bunfs/")) return bundleConsole();
    const read = async (name: string) => new Uint8Array(await Bun.file(join(EMBEDDED, name)).arrayBuffer());
    return { js: await read(BUNDLE_FILES.js), css: await read(BUNDLE_FILES.css) };
  })().catch((err) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}
