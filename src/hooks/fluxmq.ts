import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import descriptors from "../../proto/fluxmq-descriptors.json";
import { assetPath } from "../assets.ts";
import { type DefinitionOptions, serviceDefinitions } from "../grpc/definitions.ts";
import { type MaybePromise, then } from "../lib/maybe-promise.ts";
import { type CheckRecorder, checkRecorder, type DialectContext, type HookRoute } from "./dialect.ts";

/**
 * FluxMQ's call-out AuthService (contract hooks.md §6; absmach/fluxmq proto/auth/v1/auth.proto):
 * the appliance is the bridge Magistrala runs between FluxMQ and Clients/Channels. Served under
 * both package names (fluxmq.auth.v1, renamed upstream to broker.auth.v1), over gRPC on the gRPC
 * listener (FluxMQ's own client speaks gRPC) and over the Connect protocol on the hooks listener
 * (@connectrpc/connect). A refusal is an answer (authenticated/authorized false, status OK), never
 * an RPC error: FluxMQ retries errors and counts them toward a circuit breaker that would then
 * block every device.
 */

export const FLUXMQ_PACKAGES = ["fluxmq.auth.v1", "broker.auth.v1"] as const;
const protoFile = (pkg: string) => `${pkg.split(".")[0]}/auth/v1/auth.proto`;

/** MQTT 5 reason codes, as FluxMQ's own reason_code field suggests. */
const BAD_CREDENTIALS = 0x86;
const NOT_AUTHORIZED = 0x87;

interface AuthnReq {
  clientId: string;
  username: string;
  password: string;
}
interface AuthzReq {
  externalId: string;
  topic: string;
  action: number;
}
interface AuthnRes {
  authenticated: boolean;
  id: string;
  reasonCode: number;
  reason: string;
}
interface AuthzRes {
  authorized: boolean;
  reasonCode: number;
  reason: string;
}

const noAuthn = (reason: string): AuthnRes => ({ authenticated: false, id: "", reasonCode: BAD_CREDENTIALS, reason });
const noAuthz = (reason: string): AuthzRes => ({ authorized: false, reasonCode: NOT_AUTHORIZED, reason });
const ACTIONS = { 1: "publish", 2: "subscribe" } as const;

/**
 * A fault (the database away) is answered as a refusal too, logged as an error: it must neither
 * become an RPC error that trips FluxMQ's breaker for every device, nor an allow.
 */
function faultSafe<A extends unknown[], R>(ctx: DialectContext, dialect: string, fn: (...a: A) => MaybePromise<R>, fallback: R) {
  const failed = (err: unknown) => {
    ctx.logger.error("hook failed", { dialect, error: err });
    return fallback;
  };
  return (...a: A): MaybePromise<R> => {
    try {
      const r = fn(...a);
      return r instanceof Promise ? r.catch(failed) : r;
    } catch (err) {
      return failed(err);
    }
  };
}

/** The service's two methods over the one core, counted as `dialect` (fluxmq / fluxmq-connect). */
function authService(ctx: DialectContext, dialect: string) {
  const authn = checkRecorder(ctx, dialect, "authn");
  const authz: Record<number, CheckRecorder> = { 1: checkRecorder(ctx, dialect, "publish"), 2: checkRecorder(ctx, dialect, "subscribe") };
  const methods = {
    authenticate(req: AuthnReq, callerOk = true): MaybePromise<AuthnRes> {
      if (!callerOk) {
        authn.refuse("unauthorized", { reason: "missing or wrong bearer token" });
        return noAuthn("unauthorized caller");
      }
      const { username, password, clientId } = req;
      return then(ctx.core.authenticate(username, password, clientId), (r): AuthnRes => {
        if (!r.ok) {
          authn.refuse("deny", { reason: r.reason, username, client_id: clientId });
          return noAuthn(r.reason);
        }
        authn.allow();
        ctx.authenticated({ dialect, id: r.id, principal: r.principal, mqttClientId: clientId });
        return { authenticated: true, id: r.id, reasonCode: 0, reason: "" };
      });
    },
    authorize(req: AuthzReq, callerOk = true): MaybePromise<AuthzRes> {
      const action = ACTIONS[req.action as 1 | 2];
      const rec = authz[req.action] ?? authz[1]!;
      if (!callerOk) {
        rec.refuse("unauthorized", { reason: "missing or wrong bearer token" });
        return noAuthz("unauthorized caller");
      }
      if (!action || req.externalId === "") {
        rec.refuse("malformed", { reason: "malformed call-out: external_id and action (Publish/Subscribe) are required", topic: req.topic });
        return noAuthz("malformed request");
      }
      return then(ctx.core.authorize(req.externalId, req.topic, action), (r): AuthzRes => {
        if (r !== true) {
          rec.refuse("deny", { reason: r, username: req.externalId, topic: req.topic });
          return noAuthz(r);
        }
        rec.allow();
        return { authorized: true, reasonCode: 0, reason: "" };
      });
    },
  };
  return {
    authenticate: faultSafe(ctx, dialect, methods.authenticate, noAuthn("temporarily unavailable")),
    authorize: faultSafe(ctx, dialect, methods.authorize, noAuthz("temporarily unavailable")),
  };
}

/**
 * The AuthService descriptors for @connectrpc/connect, built from the .proto files (embedded in
 * the binary like the others) rather than from generated code: protobufjs parses them,
 * @bufbuild/protobuf takes the resulting FileDescriptorSet. @bufbuild/protobuf (with the
 * well-known types it pulls in) and protobufjs' descriptor extension are loaded here, on the
 * first Connect call, not with the module (issue #14: ~13 ms of every start-up).
 */
export async function fluxmqDescriptors(): Promise<DescService[]> {
  const [{ createFileRegistry, fromBinary }, { FileDescriptorSetSchema }, { default: descriptor }] = await Promise.all([
    import("@bufbuild/protobuf"),
    import("@bufbuild/protobuf/wkt"),
    import("protobufjs/ext/descriptor/index.js"),
  ]);
  return FLUXMQ_PACKAGES.map((pkg) => {
    const root = new protobuf.Root().loadSync(assetPath("proto", protoFile(pkg)), { keepCase: true });
    // biome-ignore lint/suspicious/noExplicitAny: protobufjs' descriptor extension is untyped
    const set = fromBinary(FileDescriptorSetSchema, (descriptor as any).FileDescriptorSet.encode((root as any).toDescriptor("proto3")).finish());
    for (const file of set.file)
      for (const message of file.messageType)
        for (const field of message.field) {
          // What protoc would write and protobufjs leaves out: the JSON name, absolute type names.
          field.jsonName = field.name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
          if (field.typeName && !field.typeName.startsWith(".")) field.typeName = `.${file.package}.${field.typeName}`;
        }
    return createFileRegistry(set).getService(`${pkg}.AuthService`)!;
  });
}

/** The Connect routes of both packages on the hooks listener (POST /<package>.AuthService/<Method>). */
export function fluxmqConnectRoutes(ctx: DialectContext): HookRoute[] {
  const service = authService(ctx, "fluxmq-connect");
  const malformed = checkRecorder(ctx, "fluxmq-connect", "request");
  const invalid = () =>
    new Response('{"code":"invalid_argument","message":"malformed request"}', { status: 400, headers: { "content-type": "application/json" } });
  // Built on the first call, not at start: loading @connectrpc/connect and @bufbuild/protobuf,
  // parsing the protos and building the registry would otherwise sit on every start-up, FluxMQ or not.
  let handlers: Promise<Map<string, (request: Request) => Promise<Response>>> | undefined;
  const build = async () => {
    const [{ createConnectRouter }, { createFetchHandler }, descs] = await Promise.all([
      import("@connectrpc/connect"),
      import("@connectrpc/connect/protocol"),
      fluxmqDescriptors(),
    ]);
    const router = createConnectRouter({ connect: true, grpc: false, grpcWeb: false, readMaxBytes: 64 * 1024 });
    for (const desc of descs)
      router.service(desc, {
        authenticate: (req: AuthnReq, hc: HandlerContext) => service.authenticate(req, ctx.tokenOk(hc.requestHeader)),
        authorize: (req: AuthzReq, hc: HandlerContext) => service.authorize(req, ctx.tokenOk(hc.requestHeader)),
        // biome-ignore lint/suspicious/noExplicitAny: the descriptors are built at run time, so their message types are not known statically
      } as any);
    return new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h)]));
  };
  return FLUXMQ_PACKAGES.flatMap((pkg) =>
    ["Authenticate", "Authorize"].map((method) => {
      const path = `/${pkg}.AuthService/${method}`;
      // Our methods never fail (faultSafe); a 5xx from the library is a body it could not decode
      // (it answers "internal" for bad binary): a client error, answered as one.
      const raw = (request: Request) =>
        (handlers ??= build().catch((err) => {
          handlers = undefined; // the next call tries again
          throw err;
        }))
          .then((h) => h.get(path)!(request))
          .then((res) => {
            if (res.status < 500) return res;
            malformed.refuse("malformed", { reason: `malformed call-out: ${path}` });
            return invalid();
          });
      return { path, raw, fault: invalid };
    }),
  );
}

/** How FluxMQ's messages look to the gRPC handlers (proto-loader's options; proto/fluxmq-descriptors.json has camelCase field names). */
export const FLUXMQ_GRPC_OPTIONS: DefinitionOptions = { keepCase: false, longs: Number, enums: Number, defaults: true };

/** The gRPC services of both packages, for the gRPC listener (definitions from proto/fluxmq-descriptors.json). */
export function fluxmqGrpcServices(ctx: DialectContext): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[] {
  const service = authService(ctx, "fluxmq");
  const definitions = serviceDefinitions(
    descriptors,
    FLUXMQ_PACKAGES.map((pkg) => `${pkg}.AuthService`),
    FLUXMQ_GRPC_OPTIONS,
  );
  type Cb<T> = (err: null, res: T) => void;
  const reply = <T>(r: MaybePromise<T>, cb: Cb<T>) => (r instanceof Promise ? r.then((v) => cb(null, v)) : cb(null, r));
  const implementation = {
    Authenticate: (call: { request: AuthnReq }, cb: Cb<AuthnRes>) => reply(service.authenticate(call.request), cb),
    Authorize: (call: { request: AuthzReq }, cb: Cb<AuthzRes>) => reply(service.authorize(call.request), cb),
  };
  return FLUXMQ_PACKAGES.map((pkg) => {
    return { definition: definitions[`${pkg}.AuthService`]!, implementation };
  });
}
