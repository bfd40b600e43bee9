/**
 * Wakes one waiting loop. A notify() that arrives while nobody waits is remembered, so the next
 * wait() returns at once; several notifies before a wait count as one.
 */
export class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  notify(): void {
    const release = this.release;
    if (release) {
      this.release = undefined;
      release();
    } else {
      this.pending = true;
    }
  }

  /** Resolves on the next notify(), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.release === done) this.release = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.release = done;
    });
  }
}
