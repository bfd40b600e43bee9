/** Times are integer Unix microseconds everywhere inside the service. */
export type Micros = number;

let lastMicros = 0;
/**
 * The current time in Unix microseconds, strictly increasing within the process: two things made
 * in the same millisecond (a role created right after its entity's built-in one) still sort in the
 * order they were made, instead of by their random ids. Drift is bounded by the calls per
 * millisecond (one microsecond each) and vanishes as soon as the clock moves on.
 */
export const nowMicros = (): Micros => {
  const now = Date.now() * 1000;
  lastMicros = now > lastMicros ? now : lastMicros + 1;
  return lastMicros;
};

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** RFC 3339 in UTC with trailing zeros of the fraction trimmed, as Go's time.RFC3339Nano prints. */
export function formatTime(us: Micros | null | undefined): string {
  if (us === null || us === undefined) return ZERO_TIME;
  const ms = Math.floor(us / 1000);
  const sec = Math.floor(ms / 1000);
  // The date and time to the second, kept for the next call: a row's times are usually in one second.
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastPrefix = new Date(sec * 1000).toISOString().slice(0, 19); // 2024-05-01T10:00:00
  }
  // The microseconds within the second as six digits, trailing zeros trimmed (no padStart, no regex:
  // this runs twice for every entity in every answer).
  let frac = us - sec * 1_000_000;
  if (frac === 0) return `${lastPrefix}Z`;
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const text = String(frac);
  return `${lastPrefix}.${ZEROS.slice(0, digits - text.length)}${text}Z`;
}
const ZEROS = "000000";
let lastSecond = Number.NaN;
let lastPrefix = "";

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses RFC 3339 (Go's time.RFC3339 layout, fraction optional) to microseconds; undefined if malformed. */
export function parseTime(text: string): Micros | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  const base = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone!.toUpperCase()}`);
  if (Number.isNaN(base)) return undefined;
  // Date.parse accepts Feb 30 by rolling over; reject dates that do not round-trip.
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
  return base * 1000 + Math.floor(Number(`${frac}000000`.slice(0, 6)));
}
