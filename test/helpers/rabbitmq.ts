import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

/**
 * A private RabbitMQ node for one test file (contract hooks.md §1), never the machine's shared
 * node on 5672: its own directory, node name, ports and epmd, all on 127.0.0.1, stopped by pid.
 *
 * Ports, from a base P that this helper moves up in steps of 10 until all are free:
 *   P AMQP · P+1 MQTT · P+2 Erlang distribution · P+3..P+7 CLI distribution · P+8 epmd ·
 *   P+9 management HTTP (only with the rabbitmq_management plugin)
 *
 *   const node = await startRabbitmq({ hooksUrl: svc.service.hooksUrl! });       // once per file
 *   ... mqtt://127.0.0.1:${node.mqttPort} ...
 *   await node.stop();                                                             // in afterAll
 *
 * `env` is the environment the node runs with: give it as is to rabbitmqctl and friends
 * (`rabbitmqctl -n ${node.nodeName} …`), so they reach this node and its epmd, never the shared one.
 *
 * With `plugins: ["rabbitmq_management"]` the management API listens on `managementPort`
 * (`managementUrl`; user `guest`/`guest` only exists if the node authenticates internally too:
 * pass `config: ["auth_backends.2 = internal"]` for that).
 */

const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
export const rabbitmqInstalled = existsSync(RABBITMQ_SERVER);
/** The default base: above the shared node's 25672 (its distribution port). */
const DEFAULT_BASE_PORT = 25680;

export interface RabbitmqOptions {
  /** Base URL of the appliance's hooks listener: the node's rabbitmq_auth_backend_http. */
  hooksUrl: string;
  basePort?: number;
  /** The MQTT listener's port, when it must be known before the node boots (else P+1). */
  mqttPort?: number;
  /** Beyond rabbitmq_mqtt and rabbitmq_auth_backend_http, e.g. rabbitmq_management. */
  plugins?: string[];
  /** Extra rabbitmq.conf lines. */
  config?: string[];
  /** Boot timeout (first boot takes ~6 s here). */
  timeoutMs?: number;
}

export interface RabbitmqNode {
  readonly nodeName: string;
  readonly dir: string;
  readonly basePort: number;
  readonly amqpPort: number;
  readonly mqttPort: number;
  /** With rabbitmq_management only. */
  readonly managementPort?: number;
  readonly managementUrl?: string;
  /** The node's Erlang VM. */
  readonly pid: number;
  /** The environment the node runs with (for rabbitmqctl and the other CLI tools). */
  readonly env: Record<string, string>;
  /** The node's own log (for a failing test's message). */
  log(): string;
  /** Stops the VM by its pid, then the private epmd, then deletes the directory. */
  stop(): Promise<void>;
}

const PORTS_PER_NODE = 10;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = tcpConnect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

async function freeBase(from: number): Promise<number> {
  for (let base = from; base < from + 400; base += PORTS_PER_NODE) {
    let all = true;
    for (let p = base; p < base + PORTS_PER_NODE && all; p++) all = await portFree(p);
    if (all) return base;
  }
  throw new Error(`no ${PORTS_PER_NODE} free ports from ${from}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`rabbitmq: timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, "SIGTERM");
  try {
    await waitFor(() => !alive(pid), graceMs, `pid ${pid} to exit`);
  } catch {
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}

export async function startRabbitmq(opts: RabbitmqOptions): Promise<RabbitmqNode> {
  const base = await freeBase(opts.basePort ?? DEFAULT_BASE_PORT);
  const P = { amqp: base, mqtt: opts.mqttPort ?? base + 1, dist: base + 2, epmd: base + 8, management: base + 9 };
  const dir = mkdtempSync(join(tmpdir(), "mgc-rabbit-"));
  const nodeName = `mgtest${base}@localhost`;
  const plugins = ["rabbitmq_mqtt", "rabbitmq_auth_backend_http", ...(opts.plugins ?? [])];
  const management = plugins.includes("rabbitmq_management");
  const hook = (path: string) => `${opts.hooksUrl}/rabbitmq/${path}`;
  writeFileSync(
    join(dir, "rabbitmq.conf"),
    [
      `listeners.tcp.1 = 127.0.0.1:${P.amqp}`,
      `mqtt.listeners.tcp.1 = 127.0.0.1:${P.mqtt}`,
      "mqtt.allow_anonymous = false",
      "mqtt.vhost = /",
      "mqtt.exchange = amq.topic",
      "loopback_users = none",
      "auth_backends.1 = http",
      "auth_http.http_method = post",
      `auth_http.user_path = ${hook("user")}`,
      `auth_http.vhost_path = ${hook("vhost")}`,
      `auth_http.resource_path = ${hook("resource")}`,
      `auth_http.topic_path = ${hook("topic")}`,
      ...(management ? [`management.tcp.ip = 127.0.0.1`, `management.tcp.port = ${P.management}`] : []),
      ...(opts.config ?? []),
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "enabled_plugins"), `[${plugins.join(",")}].\n`);
  writeFileSync(join(dir, "rabbitmq-env.conf"), ""); // keeps the shared node's env file out
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_PID_FILE: join(dir, "rabbit.pid"),
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(P.amqp),
    RABBITMQ_DIST_PORT: String(P.dist),
    RABBITMQ_CTL_DIST_PORT_MIN: String(base + 3),
    RABBITMQ_CTL_DIST_PORT_MAX: String(base + 7),
    ERL_EPMD_PORT: String(P.epmd),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    // -start_epmd false: no VM started with this environment (the node, rabbitmqctl) may start an
    // epmd daemon of its own, which would outlive the node; they all use the private one below.
    ERL_FLAGS: "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}",
  };
  const log = () => {
    try {
      return readFileSync(join(dir, "log", `${nodeName}.log`), "utf8");
    } catch {
      return "";
    }
  };
  // Our own epmd, in the foreground, so that it is ours to stop by its pid.
  const epmd: Subprocess = spawn({ cmd: ["epmd", "-port", String(P.epmd), "-address", "127.0.0.1"], env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  let pid = 0;
  const stop = async () => {
    if (pid) await stopPid(pid, 15_000);
    epmd.kill("SIGTERM");
    await epmd.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => portOpen(P.epmd), 5000, "the private epmd");
    const starter = spawn({ cmd: [RABBITMQ_SERVER, "-detached"], env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const code = await starter.exited;
    if (code !== 0) throw new Error(`rabbitmq-server -detached exited ${code}: ${await new Response(starter.stderr).text()}`);
    const pidFile = join(dir, "rabbit.pid");
    await waitFor(() => existsSync(pidFile) && /^\d+/.test(readFileSync(pidFile, "utf8")), opts.timeoutMs ?? 30_000, "the pid file");
    pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    await waitFor(
      async () => {
        if (!alive(pid)) throw new Error(`the node exited during boot:\n${log().slice(-3000)}`);
        return (await portOpen(P.mqtt)) && (!management || (await portOpen(P.management)));
      },
      opts.timeoutMs ?? 30_000,
      "the MQTT listener",
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodeName,
    dir,
    basePort: base,
    amqpPort: P.amqp,
    mqttPort: P.mqtt,
    managementPort: management ? P.management : undefined,
    managementUrl: management ? `http://127.0.0.1:${P.management}` : undefined,
    pid,
    env,
    log,
    stop,
  };
}

/** A port free on 127.0.0.1 right now (for a listener that must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
