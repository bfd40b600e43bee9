const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/**
 * Parses a Go-style duration (`90s`, `1h30m`, `250ms`) or a plain number of seconds (`3600`)
 * into milliseconds. Returns undefined when the text is neither.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (s === "0") return 0;
  if (!GO_DURATION.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}
