import { createServer, type Server, type Socket } from "node:net";
import { Aedes } from "aedes";

/** One message the broker routed (from any client), as a subscriber would see it. */
export interface Received {
  topic: string;
  text: string;
  json: any;
  at: number;
}

/** One PUBLISH a client sent to the broker, before the broker accepted it. */
export interface Attempt {
  topic: string;
  qos: number;
  retain: boolean;
  /** The MQTT client id of the publisher. */
  clientId: string;
  text: string;
}

/**
 * A real MQTT broker (aedes) in the test process on a free port of 127.0.0.1, which a test can stop
 * and start again on the same port, and whose acknowledgements it can hold back or slow down.
 */
export class TestBroker {
  port = 0;
  readonly received: Received[] = [];
  readonly attempts: Attempt[] = [];
  /** Credentials the broker requires (none when undefined). */
  credentials?: { username: string; password: string };
  /** Hold every PUBLISH: neither routed nor acknowledged, as long as the connection lives. */
  holdPublishes = false;
  /** Delay before each PUBLISH is accepted (and so acknowledged). */
  ackDelayMs = 0;
  readonly logins: { username?: string; password?: string }[] = [];
  private aedes?: Aedes;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];

  static async start(): Promise<TestBroker> {
    const b = new TestBroker();
    await b.start();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker();
    aedes.authenticate = (_client, username, password, done) => {
      this.logins.push({ username, password: password?.toString() });
      const c = this.credentials;
      if (!c || (username === c.username && password?.toString() === c.password)) return done(null, true);
      done(Object.assign(new Error("bad credentials"), { returnCode: 4 }), false);
    };
    aedes.authorizePublish = (client, packet, callback) => {
      if (!client) return callback(null);
      this.attempts.push({ topic: packet.topic, qos: packet.qos, retain: packet.retain, clientId: client.id, text: packet.payload.toString() });
      if (this.holdPublishes) return; // never accepted, never acknowledged
      if (this.ackDelayMs > 0) setTimeout(() => callback(null), this.ackDelayMs);
      else callback(null);
    };
    await new Promise<void>((resolve) =>
      aedes.subscribe(
        "#",
        (packet, cb) => {
          if (!packet.topic.startsWith("$")) {
            const text = packet.payload.toString();
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            this.received.push({ topic: packet.topic, text, json, at: performance.now() });
            this.checkWaiters();
          }
          cb();
        },
        resolve,
      ),
    );
    const server = createServer(aedes.handle);
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.aedes = aedes;
    this.server = server;
  }

  /** Closes every connection and the listener; the port stays reserved for start(). */
  async stop(): Promise<void> {
    const { aedes, server } = this;
    if (!aedes || !server) return;
    this.aedes = undefined;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages whose topic starts with `prefix`. */
  on(prefix: string): Received[] {
    return this.received.filter((m) => m.topic.startsWith(prefix));
  }

  /** Resolves once `check()` holds (checked on every message), or rejects after `timeoutMs`. */
  waitUntil(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`broker: timed out waiting for ${what} (${this.received.length} messages received)`));
      }, timeoutMs);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters])
      if (w.check()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
  }
}

/** Polls `check` until it is truthy; for state that changes without a broker message. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
