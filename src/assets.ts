import { join } from "node:path";

/**
 * Where the embedded assets (drizzle/, proto/) live: inside a compiled binary they are under
 * /$bunfs/root (built with `--asset drizzle --asset proto`); from source, at the repository root.
 */
const ASSET_ROOT = import.meta.dir.startsWith("/$bunfs/") ? "/$bunfs/root" : join(import.meta.dir, "..");

export const assetPath = (...parts: string[]) => join(ASSET_ROOT, ...parts);
