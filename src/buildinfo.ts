// Stamped in by scripts/build.ts with `bun build --define`; from source the contract's defaults apply.
declare const __MG_VERSION__: string | undefined;
declare const __MG_COMMIT__: string | undefined;
declare const __MG_BUILD_TIME__: string | undefined;

export const buildInfo = {
  version: typeof __MG_VERSION__ === "string" ? __MG_VERSION__ : "0.0.0",
  commit: typeof __MG_COMMIT__ === "string" ? __MG_COMMIT__ : "ffffffff",
  buildTime: typeof __MG_BUILD_TIME__ === "string" ? __MG_BUILD_TIME__ : "1970-01-01_00:00:00",
};
