/** A sleep that does not keep the process alive by itself (a CLI exits without waiting for it). */
export const idle = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
