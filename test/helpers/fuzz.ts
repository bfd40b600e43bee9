import fc from "fast-check";

/**
 * Arbitraries of the fuzz suite (test/fuzz.test.ts): requests generated from the service's own
 * OpenAPI document and .proto definitions, with random, boundary and hostile values.
 */

/** How many cases: a bounded number in CI, many more with FUZZ_RUNS for a long local run. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 0);
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** Strings that have broken services before: empty, blank, NUL, lone surrogates, huge, injection-looking, look-alike ids. */
const NASTY_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfffy",
  "\ud83d\ude00",
  "\uffff",
  "%00",
  "%",
  "../../etc/passwd",
  "' OR '1'='1",
  '"; DROP TABLE clients; --',
  "\\",
  '"',
  "{}",
  "[]",
  "null",
  "true",
  "-1",
  "1e400",
  "NaN",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
  "publish",
  "Subscribe",
  "enabled",
  "disabled",
  "all",
  "deleted",
  "__proto__",
  "constructor",
  "x".repeat(37),
  "y".repeat(1025),
  "z".repeat(5000),
];

export function hostileString(known: () => string[] = () => []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 4, arbitrary: fc.nat().map((i) => pickKnown(known(), i)) },
  );
}

const pickKnown = (xs: string[], i: number) => (xs.length === 0 ? "none" : xs[i % xs.length]!);

/** Numbers at and past every boundary a field may have. */
const boundaryNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 3, 10, 100, 101, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, 1e300),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Nested arrays/objects of a given depth (bodies and metadata). */
const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
};

/** Any JSON value, including the wrong types for a field. */
const anyJson = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 60 }).map((d) => nested(d)) },
  { weight: 1, arbitrary: fc.array(fc.constant({}), { minLength: 0, maxLength: 200 }) },
);

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  patternProperties?: Record<string, JsonSchema>;
  $ref?: string;
}

/**
 * Values for a JSON schema of the OpenAPI document: mostly of the right shape (so the request gets
 * past decoding into validation and the service), with hostile leaves and, now and then, a value
 * of the wrong type anywhere.
 */
export function fromSchema(schema: JsonSchema | undefined, ctx: { known: () => string[]; refs: Record<string, JsonSchema> }, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  if (schema.$ref) return fromSchema(ctx.refs[schema.$ref.split("/").pop()!], ctx, depth + 1);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, ctx, depth + 1)));
  if (schema.enum) return fc.oneof(fc.constantFrom(...schema.enum), anyJson);
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const shaped: fc.Arbitrary<unknown>[] = [];
  for (const type of types) {
    if (type === "string") shaped.push(hostileString(ctx.known));
    else if (type === "number" || type === "integer") shaped.push(boundaryNumber);
    else if (type === "boolean") shaped.push(fc.boolean());
    else if (type === "null") shaped.push(fc.constant(null));
    else if (type === "array") shaped.push(fc.array(fromSchema(schema.items, ctx, depth + 1), { maxLength: 6 }));
    else if (type === "object") {
      const props = schema.properties ?? {};
      const known = Object.entries(props);
      const record = fc.record(Object.fromEntries(known.map(([k, s]) => [k, fromSchema(s, ctx, depth + 1)])), { requiredKeys: [] });
      const extra = fc.dictionary(hostileString(), anyJson, { maxKeys: 3 });
      shaped.push(known.length > 0 ? fc.tuple(record, extra).map(([r, e]) => ({ ...e, ...r })) : extra);
    }
  }
  if (shaped.length === 0) return anyJson;
  return fc.oneof({ weight: 8, arbitrary: fc.oneof(...shaped) }, { weight: 1, arbitrary: anyJson });
}

/**
 * JSON text of a value, with now and then what JSON.stringify cannot write: a NUL or a lone
 * surrogate escape, a number out of range, trailing bytes, a cut-off text.
 */
export const bodyText = (value: fc.Arbitrary<unknown>): fc.Arbitrary<string | Uint8Array> =>
  fc.oneof(
    { weight: 10, arbitrary: value.map((v) => JSON.stringify(v) ?? "null") },
    {
      weight: 3,
      arbitrary: fc
        .tuple(value, fc.constantFrom('"\\u0000"', '"\\ud800"', '"a\\udc00"', "1e400", "-1E+999", "9".repeat(400), '"\\u0000\\u0000"'))
        .map(([v, evil]) => {
          const text = JSON.stringify(v) ?? "null";
          // Swap the first string or number for the hostile literal.
          return text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/, evil);
        }),
    },
    { weight: 1, arbitrary: value.map((v) => `${JSON.stringify(v) ?? "null"} trailing {[`) },
    { weight: 1, arbitrary: value.map((v) => (JSON.stringify(v) ?? "null").slice(0, -1)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 20_000 }).map((d) => "[".repeat(d) + "]".repeat(d)) },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, ...b, 0xff, 0xed, 0xa0, 0x80, 0x22, 0x7d])),
    },
  );

/**
 * A path segment or query value as it goes on the wire: percent-encoded (lone surrogates as the
 * bytes of their UTF-8-like encoding, which is invalid UTF-8), or raw percent sequences.
 */
export const encodeForUrl = (s: string): string => {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
};
export const rawUrlPiece = fc.constantFrom("%00", "%ff", "%ED%A0%80", "%zz", "%", "%2e%2e", "..", ".", "%2F", "a%00b", "%C0%AF");

/** A proto3 scalar field's value. */
export function protoScalar(type: string, known: () => string[]): fc.Arbitrary<unknown> {
  switch (type) {
    case "TYPE_STRING":
      return hostileString(known);
    case "TYPE_BOOL":
      return fc.boolean();
    case "TYPE_UINT32":
    case "TYPE_FIXED32":
      return fc.oneof(fc.constantFrom(0, 1, 2, 3, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
    case "TYPE_UINT64":
    case "TYPE_FIXED64":
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat());
    case "TYPE_INT32":
    case "TYPE_INT64":
    case "TYPE_SINT32":
    case "TYPE_SINT64":
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case "TYPE_BYTES":
      return fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b));
    default:
      return fc.constant(undefined);
  }
}
