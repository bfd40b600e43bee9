import { expect, test } from "bun:test";
import { join } from "node:path";
import { onPostgres, PG } from "./helpers/backend.ts";
import { REPO } from "./helpers/process.ts";

// The scale benchmark (scripts/bench/scale.ts, docs/scale.md) at 10,000 clients, as a smoke test:
// it seeds, measures every row and prints its table. What it measures is not checked here (speed
// targets live in benchmarks, on a quiet machine): only that every phase runs to its verdicts.
// The POST create phase (9 s of load) is left to the benchmark itself.
test("scale benchmark at 10,000 clients: seeds, measures every row, prints the table", async () => {
  const proc = Bun.spawn(
    [
      process.execPath,
      join(REPO, "scripts/bench/scale.ts"),
      "--n",
      "10000",
      "--samples",
      "20",
      "--phases",
      "lists,startup,grpc,transfer,backup",
      ...(onPostgres ? ["--postgres"] : []),
    ],
    {
      cwd: REPO,
      env: { ...process.env, BENCH_PG_HOST: PG.host, BENCH_PG_PORT: String(PG.port), BENCH_PG_USER: PG.user, BENCH_PG_PASS: PG.pass },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  // 0: every target met; 1: some missed (a busy machine); anything else: it broke.
  expect({ code, err: code === 0 || code === 1 ? "" : err }).toEqual({ code: code === 0 ? 0 : 1, err: "" });
  expect(out).toContain("| what | figure | target | verdict |");
  for (const row of [
    "list: default page",
    "list: tags all",
    "list: a client's channels",
    "service RSS after the lists",
    "start-up to first /health 200",
    "gRPC Authenticate, first call per client",
    "gRPC Authorize, first call per client",
    "export:",
    "import:",
    "export → import → export",
    ...(onPostgres ? [] : ["backup:", "restore:"]),
  ])
    expect(out).toContain(`| ${row}`);
  // The round trip is a correctness check, not a timing: it must hold on any machine.
  expect(out).toMatch(/\| export → import → export of \d+ rows \(\d+ MB\) \| identical \|/);
  expect(out).toMatch(/(PASS|FAIL): \d+ of \d+ targets met/);
}, 120_000);
