import { Presets, SingleBar } from "cli-progress";

/**
 * Progress of a long command (export, import, backup, restore) on stderr: a bar on a terminal
 * (cli-progress), plain lines every few seconds otherwise (a log file, a pipe, a container's
 * output), nothing with --quiet. A command that finishes before the first interval prints nothing,
 * so a short run's stderr stays empty.
 */
export interface Progress {
  /** Starts one step of the command; `total` in `unit`s, undefined when it is not known. */
  step(label: string, total: number | undefined, unit: ProgressUnit): ProgressStep;
}

type ProgressUnit = "rows" | "bytes";

export interface ProgressStep {
  /** How many units are done so far. Cheap: call it as often as convenient. */
  update(done: number): void;
  /** The step is over (its last update is its final count). */
  end(): void;
}

const NO_STEP: ProgressStep = { update: () => undefined, end: () => undefined };
/** Reports nothing (--quiet, and callers that pass no progress). */
export const silentProgress: Progress = { step: () => NO_STEP };

export interface ProgressOptions {
  quiet?: boolean;
  /** Where it goes (default process.stderr); a TTY gets the bar. */
  stream?: NodeJS.WriteStream;
  /** Plain lines to this function instead of a stream (never a bar). */
  write?: (text: string) => void;
  /** Plain mode: at most one line per interval (default 5 s). */
  intervalMs?: number;
  /** The command, first word of every plain line (`export`, `import`, …). */
  command: string;
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return silentProgress;
  const interval = opts.intervalMs ?? 5000;
  if (opts.write) return plainProgress(opts.write, opts.command, interval);
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? barProgress(stream) : plainProgress((text) => stream.write(text), opts.command, interval);
}

const grouped = (n: number) => Math.round(n).toLocaleString("en-US");
const amount = (n: number, unit: ProgressUnit) => (unit === "bytes" ? `${(n / 1e6).toFixed(1)} MB` : `${grouped(n)} rows`);
const rate = (n: number, seconds: number, unit: ProgressUnit) =>
  seconds <= 0 ? "" : unit === "bytes" ? `${(n / 1e6 / seconds).toFixed(1)} MB/s` : `${grouped(n / seconds)} rows/s`;

function plainProgress(write: (text: string) => void, command: string, intervalMs: number): Progress {
  const started = performance.now();
  let lastLine = started;
  let spoke = false;
  const say = (text: string) => {
    write(`${command}: ${text}\n`);
    spoke = true;
  };
  return {
    step(label, total, unit) {
      const t0 = performance.now();
      let done = 0;
      return {
        update(n) {
          done = n;
          const now = performance.now();
          if (now - lastLine < intervalMs) return;
          lastLine = now;
          const secs = (now - t0) / 1000;
          if (total === undefined && done === 0) return say(`${label}: ${secs.toFixed(0)} s so far`);
          const r = done / Math.max(secs, 1e-3);
          const left = total !== undefined && r > 0 ? `, ${Math.max(0, Math.round((total - done) / r))} s left` : "";
          const pct = total ? ` (${Math.min(100, Math.floor((done / total) * 100))} %)` : "";
          say(`${label}: ${amount(done, unit)}${total !== undefined ? ` of ${amount(total, unit)}` : ""}${pct}, ${rate(done, secs, unit)}${left}`);
        },
        end() {
          // Only a command that has already printed says how its steps ended.
          if (!spoke) return;
          const secs = (performance.now() - t0) / 1000;
          if (total === undefined && done === 0) say(`${label}: done in ${secs.toFixed(1)} s`);
          else say(`${label}: ${amount(done, unit)} in ${secs.toFixed(1)} s${secs > 0.05 ? ` (${rate(done, secs, unit)})` : ""}`);
          lastLine = performance.now();
        },
      };
    },
  };
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  return {
    step(label, total, unit) {
      const t0 = performance.now();
      const bar = new SingleBar(
        {
          stream,
          // A step of unknown size shows how long it has been running.
          format: total === undefined ? `${label} | {duration_formatted}` : `${label} [{bar}] {percentage}% | {amount} | {speed} | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          fps: 5,
        },
        Presets.shades_classic,
      );
      const payload = (done: number) => ({
        amount: `${amount(done, unit)}${total !== undefined ? ` of ${amount(total, unit)}` : ""}`,
        speed: rate(done, (performance.now() - t0) / 1000, unit),
      });
      // Unknown size: the bar stays empty and the amount still counts.
      bar.start(total ?? 0, 0, payload(0));
      return {
        update(n) {
          bar.update(n, payload(n));
        },
        end() {
          bar.stop();
        },
      };
    },
  };
}
