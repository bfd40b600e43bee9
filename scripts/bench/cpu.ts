// CPU accounting for the benchmarks, from /proc (Linux): how much CPU the load generator and the
// measured server used during a run, in % of one core (on 2 cores the machine has 200 %).
import { readdirSync, readFileSync } from "node:fs";

export const TICK_HZ = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

export interface CpuShare {
  /** The load generator's CPU, % of one core. */
  generator: number;
  /** The measured server's CPU, % of one core (when its pid is known). */
  server?: number;
  /** All of Postgres' processes together (its backends do a write's index and trigger work), % of one core. */
  database?: number;
}

/** utime + stime of a live process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
  return Number(f[11]) + Number(f[12]);
}

/** utime + stime of every live process named `postgres` (the local server's), in clock ticks. */
export function postgresTicks(): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!s.includes("(postgres)")) continue;
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

export function shareOf(generatorTicks: number, serverTicks: number, wallSeconds: number): CpuShare {
  return { generator: (generatorTicks / TICK_HZ / wallSeconds) * 100, server: (serverTicks / TICK_HZ / wallSeconds) * 100 };
}

/**
 * Runs a command to its end and returns its stdout and the CPU ticks it used: a shell waits for it
 * and then prints its own children's times (cutime + cstime, fields 16 and 17 of its stat).
 */
export async function cpuOfChild(cmd: string[]): Promise<{ out: string; ticks: number; code: number }> {
  const p = Bun.spawn(["sh", "-c", '"$@"; s=$?; echo; echo "CHILDCPU $(cut -d")" -f2 /proc/$$/stat | cut -d" " -f15,16)"; exit $s', "sh", ...cmd], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  const m = /CHILDCPU (\d+) (\d+)/.exec(out);
  if (code !== 0) throw new Error(`${cmd[0]} failed (${code}):\n${out}\n${err}`);
  return { out, ticks: m ? Number(m[1]) + Number(m[2]) : NaN, code };
}

/** Stops the benchmark with how to install a missing load generator; it never falls back to a weaker one. */
export function requireTool(tool: string, install: string): void {
  if (Bun.spawnSync(["sh", "-c", `command -v ${tool}`]).exitCode === 0) return;
  console.error(`${tool} is required for this benchmark and was not found. Install it: ${install}`);
  process.exit(2);
}
