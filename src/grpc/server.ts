import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import * as grpc from "@grpc/grpc-js";
import descriptors from "../../proto/descriptors.json";
import type { TlsFiles } from "../config/config.ts";
import { storable } from "../domain/text.ts";
import { AppError, type ErrorCode, Msg } from "../errors/index.ts";
import type { Logger } from "../log/logger.ts";
import { type DefinitionOptions, serviceDefinitions } from "./definitions.ts";

/** The one mapping of error codes to gRPC status (contract grpc.md §3: never NOT_FOUND). */
const GRPC_STATUS: Record<ErrorCode, grpc.status> = {
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  UNSUPPORTED_MEDIA_TYPE: grpc.status.INVALID_ARGUMENT,
  MALFORMED: grpc.status.INVALID_ARGUMENT,
  INVALID: grpc.status.INVALID_ARGUMENT,
  FORBIDDEN: grpc.status.PERMISSION_DENIED,
  // "entity not found", conflicts and other service failures are INTERNAL in the reference;
  // adapters treat a message containing "entity not found" as a plain deny.
  CONFLICT: grpc.status.INTERNAL,
  NOT_FOUND: grpc.status.INTERNAL,
  UNPROCESSABLE: grpc.status.INTERNAL,
  INTERNAL: grpc.status.INTERNAL,
  TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  STORAGE_FULL: grpc.status.UNAVAILABLE,
};

export type Reply<T> = grpc.sendUnaryData<T>;
export type Call<T> = grpc.ServerUnaryCall<T, unknown>;

/** A ready-made error reply (reused: the hot path's denials allocate nothing). */
export const grpcError = (code: grpc.status, details: string): Partial<grpc.StatusObject> => Object.freeze({ code, details });

/**
 * Calls per method and status code, counted with one array increment (read by /metrics as
 * grpc_server_handled_total).
 */
export class CallCounts {
  private readonly byMethod = new Map<string, number[]>();
  counter(method: string): number[] {
    let codes = this.byMethod.get(method);
    if (!codes) this.byMethod.set(method, (codes = new Array(17).fill(0)));
    return codes;
  }
  totals(): [Record<string, string>, number][] {
    const out: [Record<string, string>, number][] = [];
    for (const [method, codes] of this.byMethod)
      codes.forEach((n, code) => {
        if (n > 0) out.push([{ grpc_method: method, grpc_code: grpc.status[code] ?? String(code) }, n]);
      });
    return out;
  }
}

/** Replies to a call whose work failed: AppErrors by their code, anything else as INTERNAL. */
export function replyFailure(logger: Logger, method: string, cb: Reply<unknown>, err: unknown, counts?: number[]): void {
  const reply =
    err instanceof AppError ? { code: GRPC_STATUS[err.code], details: err.message } : { code: grpc.status.INTERNAL, details: "internal server error" };
  if (!(err instanceof AppError)) logger.error("grpc call failed", { method, error: err });
  if (counts) counts[reply.code]!++;
  cb(reply);
}

/** A field with NUL or a lone surrogate (protobufjs decodes invalid UTF-8 into lone surrogates). */
const UNSTORABLE = grpcError(grpc.status.INVALID_ARGUMENT, Msg.invalidId);

/**
 * Wraps an async handler: its result is the reply, its failure mapped by replyFailure. A request
 * whose strings Postgres would refuse is INVALID_ARGUMENT before the handler runs, on both backends.
 */
export function unary<Req, Res>(logger: Logger, counts: CallCounts, method: string, fn: (req: Req) => Promise<Res>) {
  const c = counts.counter(method);
  return (call: Call<Req>, cb: Reply<Res>) => {
    if (!storable(call.request)) {
      c[grpc.status.INVALID_ARGUMENT]!++;
      return cb(UNSTORABLE);
    }
    fn(call.request).then(
      (res) => {
        c[grpc.status.OK]!++;
        cb(null, res);
      },
      (err) => replyFailure(logger, method, cb as Reply<unknown>, err, c),
    );
  };
}

/** contract/grpc.md common.v1.EntityBasic of a client or channel. */
export const entityBasic = (e: { id: string; domainId: string; parentGroupId: string | null; status: number }) => ({
  id: e.id,
  domain_id: e.domainId,
  parent_group_id: e.parentGroupId ?? "",
  status: e.status,
});

/** How calls' messages look to handlers (proto-loader's options; proto/descriptors.json keeps field names as written). */
export const GRPC_OPTIONS: DefinitionOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** The definitions of our services (clients, channels, grpc.health.v1), from proto/descriptors.json. */
export function grpcDefinitions(): { clients: grpc.ServiceDefinition; channels: grpc.ServiceDefinition; health: grpc.ServiceDefinition } {
  const names = ["clients.v1.ClientsService", "channels.v1.ChannelsService", "grpc.health.v1.Health"] as const;
  const d = serviceDefinitions(descriptors, names, GRPC_OPTIONS);
  return { clients: d[names[0]]!, channels: d[names[1]]!, health: d[names[2]]! };
}

type Handlers = grpc.UntypedServiceImplementation;

interface GrpcServices {
  clients: Handlers;
  channels: Handlers;
}

export interface GrpcServerOptions {
  host: string;
  port: number;
  tls?: TlsFiles & { caCerts?: string };
  logger: Logger;
  services: GrpcServices;
  /** More services on the same listener (the broker hooks' FluxMQ AuthService). */
  extra?: { definition: grpc.ServiceDefinition; implementation: Handlers }[];
}

export interface RunningGrpcServer {
  readonly port: number;
  /** Lets in-flight calls finish (up to `graceMs`), then closes every connection. */
  stop(graceMs?: number): Promise<void>;
}

function credentials(tls: GrpcServerOptions["tls"]): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const pair = { cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) };
  // With CA certificates, a client must present a certificate signed by one of them (mTLS).
  return tls.caCerts ? grpc.ServerCredentials.createSsl(readFileSync(tls.caCerts), [pair], true) : grpc.ServerCredentials.createSsl(null, [pair], false);
}

const SERVING = { status: "SERVING" };
const KNOWN_SERVICES = new Set(["", "clients", "channels", "clients.v1.ClientsService", "channels.v1.ChannelsService"]);

/**
 * Binds `host`:`port` the way grpc-js binds a host name — on every address the name resolves to
 * (localhost: 127.0.0.1 and ::1), the first one's port for the others when `port` is 0 — but
 * through its IP resolver (ipv4:/ipv6: targets). Its DNS resolver, even for an IP address, starts
 * a backoff timer whose local-time Date arithmetic loads the time zone data: ~8 ms of every
 * start-up (issue #14); it would also send a DNS TXT query for a service config, of no use to a server.
 */
async function bind(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials): Promise<number> {
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else
    try {
      addresses = await lookup(host, { all: true });
    } catch {
      throw new Error(`Name resolution failed for target dns:${host}:${port}`);
    }
  const bindOne = (a: { address: string; family: number }, p: number) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(a.family === 6 ? `ipv6:[${a.address}]:${p}` : `ipv4:${a.address}:${p}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  const errors: Error[] = [];
  let bound: number | undefined;
  for (const a of addresses)
    try {
      const p = await bindOne(a, bound ?? port);
      bound ??= p;
    } catch (err) {
      errors.push(err as Error);
    }
  if (bound === undefined)
    throw errors.length === 1
      ? errors[0]!
      : new Error(`No address added out of total ${addresses.length} resolved errors: [${errors.map((e) => e.message).join(",")}]`);
  return bound;
}

/**
 * One listener for both services (contract §1: an edge build may do that) plus the standard
 * grpc.health.v1.Health service reporting SERVING for "clients", "channels" and "".
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const definitions = grpcDefinitions();
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024 });
  server.addService(definitions.clients, opts.services.clients);
  server.addService(definitions.channels, opts.services.channels);
  for (const s of opts.extra ?? []) server.addService(s.definition, s.implementation);
  server.addService(definitions.health, {
    Check(call: Call<{ service: string }>, cb: Reply<unknown>) {
      if (KNOWN_SERVICES.has(call.request.service)) cb(null, SERVING);
      else cb({ code: grpc.status.NOT_FOUND, details: "unknown service" });
    },
    Watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
      call.write(KNOWN_SERVICES.has(call.request.service) ? SERVING : { status: "SERVICE_UNKNOWN" });
      // Statuses never change while the process runs; the stream stays open until cancelled.
    },
  });
  const port = await bind(server, opts.host, opts.port, credentials(opts.tls));
  opts.logger.info("grpc server listening", { address: `${opts.host}:${port}`, tls: opts.tls ? (opts.tls.caCerts ? "mtls" : "tls") : "off" });
  return {
    port,
    stop(graceMs = 5000) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
