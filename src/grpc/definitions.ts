import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";

/**
 * grpc-js service definitions made from a protobufjs JSON descriptor (proto/*.json, made from the
 * .proto files by scripts/gen-proto-json.ts) rather than by @grpc/proto-loader's loadSync: no .proto
 * text parsed at start-up, and only the services described, not every message of every file
 * (issue #14: start-up). The serialisers are proto-loader's own, made the same way with the same
 * options; test/grpc-definitions.test.ts checks both against loadSync of the .proto files.
 *
 * The methods come straight from the JSON; the message types (protobufjs' reflection, ~5 ms to
 * build) are made at the first call or a second after start-up, whichever comes first.
 */

/** The options of proto-loader's loadSync that shape the JSON (parse) and the objects (conversion). */
export interface DefinitionOptions extends protobuf.IConversionOptions {
  keepCase: boolean;
}

/** A service as the JSON descriptor has it. */
interface ServiceJson {
  methods: Record<string, { requestType: string; responseType: string; requestStream?: boolean; responseStream?: boolean }>;
}

/** proto-loader's `originalName` (lodash's camelCase) of a method name: RetrieveIDByRoute → retrieveIdByRoute. */
const camelCase = (name: string) =>
  (name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [])
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join("");

function serviceJson(json: object, fullName: string): ServiceJson {
  let node = json as { nested?: Record<string, unknown> };
  for (const part of fullName.split(".")) {
    const next = node.nested?.[part];
    if (!next) throw new Error(`no service ${fullName} in the descriptor`);
    node = next as typeof node;
  }
  if (!("methods" in node)) throw new Error(`${fullName} is not a service`);
  return node as ServiceJson;
}

/** The definitions of `services` (full names, e.g. clients.v1.ClientsService), by full name. */
export function serviceDefinitions(json: object, services: readonly string[], options: DefinitionOptions): Record<string, grpc.ServiceDefinition> {
  let root: protobuf.Root | undefined;
  const reflection = () => {
    if (!root) {
      root = protobuf.Root.fromJSON(json as protobuf.INamespace);
      root.resolveAll();
    }
    return root;
  };
  setTimeout(reflection, 1000).unref();

  const out: Record<string, grpc.ServiceDefinition> = {};
  for (const name of services) {
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const [methodName, m] of Object.entries(serviceJson(json, name).methods)) {
      let req: protobuf.Type | undefined;
      let res: protobuf.Type | undefined;
      const request = () => (req ??= reflection().lookupService(name).methods[methodName]!.resolvedRequestType!);
      const response = () => (res ??= reflection().lookupService(name).methods[methodName]!.resolvedResponseType!);
      def[methodName] = {
        path: `/${name}/${methodName}`,
        requestStream: !!m.requestStream,
        responseStream: !!m.responseStream,
        requestSerialize: serializer(request),
        requestDeserialize: deserializer(request, options),
        responseSerialize: serializer(response),
        responseDeserialize: deserializer(response, options),
        originalName: camelCase(methodName),
      };
    }
    out[name] = def as grpc.ServiceDefinition;
  }
  return out;
}

function serializer(type: () => protobuf.Type) {
  return (arg: object): Buffer => {
    const t = type();
    if (Array.isArray(arg)) throw new Error(`Failed to serialize message: expected object with ${t.name} structure, got array instead`);
    return t.encode(t.fromObject(arg)).finish() as Buffer;
  };
}

function deserializer(type: () => protobuf.Type, options: protobuf.IConversionOptions) {
  return (buf: Buffer): object => {
    const t = type();
    return t.toObject(t.decode(buf), options);
  };
}
