import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";

/**
 * grpc-js service definitions made from a protobufjs JSON descriptor (proto/*.json, made from the
 * .proto files by scripts/gen-proto-json.ts) rather than by @grpc/proto-loader's loadSync: no .proto
 * text parsed at start-up, and only the services described, not every message of every file
 * (issue #14: start-up). The serialisers are proto-loader's own, made the same way with the same
 * options; test/grpc-definitions.test.ts checks both against loadSync of the .proto files.
 */

/** The options of proto-loader's loadSync that shape the JSON (parse) and the objects (conversion). */
export interface DefinitionOptions extends protobuf.IConversionOptions {
  keepCase: boolean;
}

function serializer(type: protobuf.Type) {
  return (arg: object): Buffer => {
    if (Array.isArray(arg)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return type.encode(type.fromObject(arg)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type, options: protobuf.IConversionOptions) {
  return (buf: Buffer): object => type.toObject(type.decode(buf), options);
}

/** proto-loader's `originalName` (lodash's camelCase) of a method name: RetrieveIDByRoute → retrieveIdByRoute. */
const camelCase = (name: string) =>
  (name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [])
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join("");

/** The definitions of `services` (full names, e.g. clients.v1.ClientsService), by full name. */
export function serviceDefinitions(json: object, services: readonly string[], options: DefinitionOptions): Record<string, grpc.ServiceDefinition> {
  const root = protobuf.Root.fromJSON(json as protobuf.INamespace);
  root.resolveAll();
  const out: Record<string, grpc.ServiceDefinition> = {};
  for (const name of services) {
    const service = root.lookupService(name);
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const method of service.methodsArray) {
      const req = method.resolvedRequestType!;
      const res = method.resolvedResponseType!;
      def[method.name] = {
        path: `/${name}/${method.name}`,
        requestStream: !!method.requestStream,
        responseStream: !!method.responseStream,
        requestSerialize: serializer(req),
        requestDeserialize: deserializer(req, options),
        responseSerialize: serializer(res),
        responseDeserialize: deserializer(res, options),
        originalName: camelCase(method.name),
      };
    }
    out[name] = def as grpc.ServiceDefinition;
  }
  return out;
}
