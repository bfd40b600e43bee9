/**
 * Bounds on one request's work, so that no single legal request holds the database (and, on
 * SQLite, the event loop) long enough to stall device authentication. Documented in docs/limits.md.
 */

/** Entities in one bulk create (clients or channels). */
export const MAX_BULK = 10_000;
/** Connection tuples in one connect or disconnect: channels × clients × types. */
export const MAX_CONNECTIONS = 10_000;
