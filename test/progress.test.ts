import { describe, expect, test } from "bun:test";
import { createProgress } from "../src/progress/progress.ts";

/** Progress of export/import/backup/restore when stderr is not a terminal: plain lines, throttled. */
describe("progress lines", () => {
  const collect = (intervalMs: number, quiet = false) => {
    const lines: string[] = [];
    const progress = createProgress({ command: "export", quiet, intervalMs, write: (t) => lines.push(t) });
    return { lines, progress };
  };

  test("a run shorter than the interval prints nothing at all", () => {
    const { lines, progress } = collect(60_000);
    const step = progress.step("clients", 1000, "rows");
    for (let n = 0; n <= 1000; n += 100) step.update(n);
    step.end();
    expect(lines).toEqual([]);
  });

  test("once the interval has passed: one line per update with the count, the share and the rate; then how the step ended", () => {
    const { lines, progress } = collect(0);
    const step = progress.step("clients", 1000, "rows");
    step.update(250);
    step.update(1000);
    step.end();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^export: clients: 250 rows of 1,000 rows \(25 %\), [\d,]+ rows\/s, \d+ s left\n$/);
    expect(lines[1]).toMatch(/^export: clients: 1,000 rows of 1,000 rows \(100 %\)/);
    expect(lines[2]).toMatch(/^export: clients: 1,000 rows in \d+\.\d s/);
  });

  test("bytes are shown in MB; a step of unknown size shows how long it has run", () => {
    const { lines, progress } = collect(0);
    const copy = progress.step("copying", 4_000_000, "bytes");
    copy.update(2_000_000);
    copy.end();
    const check = progress.step("checking integrity", undefined, "bytes");
    check.update(0);
    check.end();
    expect(lines[0]).toMatch(/^export: copying: 2\.0 MB of 4\.0 MB \(50 %\), [\d.]+ MB\/s/);
    expect(lines[2]).toMatch(/^export: checking integrity: \d+ s so far\n$/);
    expect(lines[3]).toMatch(/^export: checking integrity: done in \d+\.\d s\n$/);
  });

  test("--quiet prints nothing", () => {
    const { lines, progress } = collect(0, true);
    const step = progress.step("clients", 10, "rows");
    step.update(5);
    step.end();
    expect(lines).toEqual([]);
  });
});
