// Compiles the service into one executable per target with migrations, protos and the console embedded and
// version, commit and build time stamped in. Usage: bun scripts/build.ts [x64] [arm64] (default: both)
//
// A target of another architecture than this machine's needs that architecture's Bun runtime. It
// is taken from the npm registry package of the exact same Bun version (@oven/bun-linux-aarch64 or
// @oven/bun-linux-x64, checked by npm against the registry's integrity hash) and handed to
// `--compile-executable-path`; only when that fails does `bun build` download it by itself.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILES, bundleConsole } from "../src/console/bundle.ts";
import { SWAGGER_FILES } from "../src/console/openapi-ui.ts";

const ROOT = join(import.meta.dir, "..");
interface Target {
  bunTarget: string;
  /** process.arch of machines that run it */
  arch: string;
  /** npm package holding the runtime at package/bin/bun */
  runtimePackage: string;
  /** ELF e_machine of that runtime */
  elfMachine: number;
}
const TARGETS: Record<string, Target> = {
  x64: { bunTarget: "bun-linux-x64", arch: "x64", runtimePackage: "@oven/bun-linux-x64", elfMachine: 0x3e },
  arm64: { bunTarget: "bun-linux-arm64", arch: "arm64", runtimePackage: "@oven/bun-linux-aarch64", elfMachine: 0xb7 },
};

const args = process.argv.slice(2);
const targets = args.length > 0 ? args : Object.keys(TARGETS);
for (const t of targets) if (!TARGETS[t]) fail(`unknown target ${t} (x64, arm64)`);

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const git = Bun.spawnSync(["git", "rev-parse", "--short=8", "HEAD"], { cwd: ROOT });
const commit = git.exitCode === 0 ? git.stdout.toString().trim() : "ffffffff";
const buildTime = new Date().toISOString().replace(/\.\d+Z$/, "Z");

// Folders are embedded when they hold files (proto/ stays empty until the gRPC server lands).
const assets = ["drizzle", "proto"].filter((d) => existsSync(join(ROOT, d)) && readdirSync(join(ROOT, d)).length > 0);
mkdirSync(join(ROOT, "dist"), { recursive: true });

// The console's front end, bundled once for every target and embedded as /$bunfs/root/console/
// (src/console/bundle.ts reads it there; from source the service bundles it itself).
const consoleDir = join(ROOT, "dist", "console");
rmSync(consoleDir, { recursive: true, force: true });
mkdirSync(consoleDir, { recursive: true });
const bundle = await bundleConsole();
for (const [part, name] of Object.entries(BUNDLE_FILES)) writeFileSync(join(consoleDir, name), bundle[part as keyof typeof BUNDLE_FILES]);
console.log(`bundled the console: ${bundle.js.length} + ${bundle.css.length} bytes`);
// Swagger UI for /openapi, gzipped (0.5 MB instead of 1.9 MB in the binary; src/console/openapi-ui.ts).
const swaggerDir = join(ROOT, "dist", "openapi-ui");
rmSync(swaggerDir, { recursive: true, force: true });
mkdirSync(swaggerDir, { recursive: true });
for (const name of SWAGGER_FILES)
  writeFileSync(join(swaggerDir, `${name}.gz`), Bun.gzipSync(readFileSync(Bun.resolveSync(`swagger-ui-dist/${name}`, ROOT)), { level: 9 }));
assets.push("dist/console", "dist/openapi-ui");

for (const t of targets) {
  const target = TARGETS[t]!;
  const out = join("dist", `magistrala-clients-linux-${t}`);
  const runtime = target.arch === process.arch ? undefined : crossRuntime(target);
  const cmd = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--sourcemap",
    "--no-compile-autoload-dotenv",
    `--target=${target.bunTarget}`,
    ...(runtime ? [`--compile-executable-path=${runtime}`] : []),
    ...assets.map((a) => `--asset=${a}`),
    `--define=__MG_VERSION__=${JSON.stringify(pkg.version)}`,
    `--define=__MG_COMMIT__=${JSON.stringify(commit)}`,
    `--define=__MG_BUILD_TIME__=${JSON.stringify(buildTime)}`,
    "src/main.ts",
    // Workers are entry points of their own in a compiled binary (backup and restore run in one,
    // the page cache prewarm in another).
    "src/backup/worker.ts",
    "src/db/sqlite/prewarm-worker.ts",
    "--outfile",
    out,
  ];
  // Precompiled bytecode halves the start-up time for ~5 MB. It builds CommonJS, so no module may
  // use top-level await; should one do so, the build says why and goes on without bytecode.
  let r = Bun.spawnSync([...cmd.slice(0, 3), "--bytecode", ...cmd.slice(3)], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    console.warn(`warning: the --bytecode build of ${out} failed (see above); building without bytecode (slower start-up)`);
    r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  }
  if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
  console.log(`built ${out} (${Bun.file(join(ROOT, out)).size} bytes; assets: ${assets.join(", ") || "none"})`);
}

/**
 * The Bun runtime of another architecture, same version as this one, from the npm registry,
 * cached under ~/.cache/magistrala-clients. Undefined (bun downloads it itself) when npm fails.
 */
function crossRuntime(target: Target): string | undefined {
  const spec = `${target.runtimePackage}@${Bun.version}`;
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "magistrala-clients", `${target.bunTarget}-${Bun.version}`);
  const bin = join(dir, "package", "bin", "bun");
  if (isElf(bin, target.elfMachine)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pack = Bun.spawnSync(["npm", "pack", spec, "--pack-destination", dir, "--silent"], { cwd: dir, stderr: "pipe" });
  const tarball = pack.stdout.toString().trim().split("\n").at(-1) ?? "";
  if (pack.exitCode === 0 && tarball) {
    const untar = Bun.spawnSync(["tar", "xzf", join(dir, tarball), "-C", dir, "package/bin/bun"], { stderr: "pipe" });
    rmSync(join(dir, tarball), { force: true });
    if (untar.exitCode === 0 && isElf(bin, target.elfMachine)) {
      console.log(`using the ${target.bunTarget} runtime from npm ${spec}`);
      return bin;
    }
  }
  console.warn(`warning: could not take the runtime from npm ${spec} (${pack.stderr.toString().trim().split("\n").at(-1) ?? ""}); bun build will download it`);
  return undefined;
}

function isElf(path: string, machine: number): boolean {
  if (!existsSync(path)) return false;
  const head = Buffer.alloc(20);
  const fd = openSync(path, "r");
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  return head[0] === 0x7f && head.toString("latin1", 1, 4) === "ELF" && head.readUInt16LE(18) === machine;
}

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}
