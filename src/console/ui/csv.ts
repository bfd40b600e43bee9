/**
 * Bulk-create CSV: `name,identity,secret,tags,metadata` for clients (`name,route,tags,metadata`
 * for channels), RFC 4180 quoting, an optional header line. Tags are separated by `;` (or by
 * commas inside a quoted field); metadata is a JSON object.
 */

/** RFC 4180 records: quoted fields may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

export class CsvError extends Error {}

/** The rows of a bulk CSV as objects keyed by `columns`, header line skipped. */
export function csvRecords(text: string, columns: readonly string[]): Record<string, string>[] {
  const rows = parseCsv(text);
  if (rows.length > 0 && rows[0]!.map((f) => f.trim().toLowerCase()).join(",") === columns.join(",")) rows.shift();
  if (rows.length === 0) throw new CsvError("the CSV has no rows");
  return rows.map((r, i) => {
    if (r.length > columns.length) throw new CsvError(`line ${i + 1}: ${r.length} fields, at most ${columns.length} (${columns.join(",")})`);
    return Object.fromEntries(columns.map((c, j) => [c, (r[j] ?? "").trim()]));
  });
}

export const splitTags = (s: string) =>
  s
    .split(/[;,]/)
    .map((t) => t.trim())
    .filter((t) => t !== "");

/** A metadata cell or field: empty, or a JSON object. */
export function parseMetadata(s: string, where: string): Record<string, unknown> | undefined {
  if (s.trim() === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    throw new CsvError(`${where}: metadata is not valid JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CsvError(`${where}: metadata must be a JSON object`);
  return v as Record<string, unknown>;
}

const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
export const toCsv = (rows: string[][]) => `${rows.map((r) => r.map(cell).join(",")).join("\n")}\n`;
