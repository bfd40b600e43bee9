/** The unique index a failed insert/update ran into, if that is why it failed. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; message?: string; constraint_name?: string; cause?: unknown } | null;
  if (!e) return undefined;
  if (e.code === "23505") return e.constraint_name; // Postgres
  if (typeof e.code === "string" && e.code.startsWith("SQLITE_CONSTRAINT") && typeof e.message === "string") {
    const m = /UNIQUE constraint failed: (.*)$/.exec(e.message);
    if (m) return m[1];
    if (e.code === "SQLITE_CONSTRAINT_PRIMARYKEY") return e.message;
  }
  if (e.cause) return uniqueViolation(e.cause);
  return undefined;
}
