import type { TProperties } from "@sinclair/typebox";
import { t } from "elysia";

/**
 * Request schemas. The apps run with `normalize: false`: Elysia's normaliser would turn a string
 * into `{"0": …}` for an object field instead of rejecting it. So objects must allow the extra
 * keys the contract says are ignored.
 */
export const Obj = <P extends TProperties>(props: P, opts: { description?: string } = {}) =>
  t.Object(props, { additionalProperties: true, ...opts });

export const NullableString = (description?: string) => t.Union([t.String(description ? { description } : {}), t.Null()]);
export const JsonObjectField = (description?: string) =>
  t.Union([t.Record(t.String(), t.Unknown(), description ? { description } : {}), t.Null()]);
export const StringList = (description?: string) => t.Union([t.Array(t.String(), description ? { description } : {}), t.Null()]);

export const ELYSIA_OPTIONS = { normalize: false } as const;
