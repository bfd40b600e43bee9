import type { TProperties } from "@sinclair/typebox";
import { t } from "elysia";
import { readJsonBody } from "./body.ts";

/**
 * Request schemas. The apps run with `normalize: false`: Elysia's normaliser would turn a string
 * into `{"0": …}` for an object field instead of rejecting it. So objects must allow the extra
 * keys the contract says are ignored.
 */
export const Obj = <P extends TProperties>(props: P, opts: { description?: string; examples?: unknown[] } = {}) =>
  t.Object(props, { additionalProperties: true, ...opts });

export const NullableString = (description?: string) => t.Union([t.String(description ? { description } : {}), t.Null()]);
export const JsonObjectField = (description?: string) => t.Union([t.Record(t.String(), t.Unknown(), description ? { description } : {}), t.Null()]);
export const StringList = (description?: string) => t.Union([t.Array(t.String(), description ? { description } : {}), t.Null()]);

export const ELYSIA_OPTIONS = { normalize: false } as const;

/** Route options of a JSON-body route: our parser does the work (415/400 with the contract's
 * messages); "application/json" after it only tells the OpenAPI generator the content type. */
export const jsonBody = { parse: [({ request }: { request: Request }) => readJsonBody(request), "application/json" as const] };
/** Route options of a route that reads no body (and so checks no content type). */
export const noBody = { parse: "none" as const };
