// Compiles the service into one executable per target with migrations and protos embedded and
// version, commit and build time stamped in. Usage: bun scripts/build.ts [x64] [arm64]
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const TARGETS: Record<string, string> = { x64: "bun-linux-x64", arm64: "bun-linux-arm64" };

const args = process.argv.slice(2);
const targets = args.length > 0 ? args : ["x64"];
for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target ${t} (x64, arm64)`);

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const git = Bun.spawnSync(["git", "rev-parse", "--short=8", "HEAD"], { cwd: ROOT });
const commit = git.exitCode === 0 ? git.stdout.toString().trim() : "ffffffff";
const buildTime = new Date().toISOString().replace(/\.\d+Z$/, "Z");

const assets = ["drizzle", "proto"].filter((d) => existsSync(join(ROOT, d)) && readdirSync(join(ROOT, d)).length > 0);
mkdirSync(join(ROOT, "dist"), { recursive: true });

for (const t of targets) {
  const out = join("dist", `magistrala-clients-linux-${t}`);
  const cmd = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--sourcemap",
    "--no-compile-autoload-dotenv",
    `--target=${TARGETS[t]}`,
    ...assets.map((a) => `--asset=${a}`),
    `--define=__MG_VERSION__=${JSON.stringify(pkg.version)}`,
    `--define=__MG_COMMIT__=${JSON.stringify(commit)}`,
    `--define=__MG_BUILD_TIME__=${JSON.stringify(buildTime)}`,
    "src/main.ts",
    "--outfile",
    out,
  ];
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) process.exit(r.exitCode ?? 1);
  console.log(`built ${out} (${Bun.file(join(ROOT, out)).size} bytes)`);
}
