import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { PROTO_JSON, protoJson } from "../scripts/proto-json.ts";
import { type DefinitionOptions, serviceDefinitions } from "../src/grpc/definitions.ts";
import { GRPC_OPTIONS } from "../src/grpc/server.ts";
import { FLUXMQ_GRPC_OPTIONS } from "../src/hooks/fluxmq.ts";
import { PROTO_DIR } from "./helpers/grpc.ts";

/**
 * The service loads its gRPC definitions from JSON descriptors (proto/*.json, src/grpc/definitions.ts)
 * instead of parsing the .proto files at start-up. Checked here: each descriptor is what its .proto
 * files parse to today (else: bun scripts/gen-proto-json.ts), and the definitions made from it are
 * those of @grpc/proto-loader's loadSync of the .proto files with the same options — same methods,
 * paths, streaming, names, and the same bytes and objects out of every (de)serialiser.
 */

const OPTIONS: Record<string, DefinitionOptions> = { "descriptors.json": GRPC_OPTIONS, "fluxmq-descriptors.json": FLUXMQ_GRPC_OPTIONS };

/** A message of `type` with every field set (enums by number, accepted under every option). */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    const one = (): unknown => {
      if (field.resolvedType instanceof protobuf.Type) return depth < 3 ? sample(field.resolvedType, depth + 1) : {};
      if (field.resolvedType instanceof protobuf.Enum) return Object.values(field.resolvedType.values).at(-1);
      if (field.type === "string") return `${field.name}-ü\u{1F600}`;
      if (field.type === "bool") return true;
      if (field.type === "bytes") return Buffer.from([1, 2, 255]);
      if (field.type === "double" || field.type === "float") return 1.5;
      return field.type.startsWith("u") || field.type.startsWith("fixed") ? 4_000_000_000 : -7;
    };
    out[field.name] = field.map ? { k: one() } : field.repeated ? [one(), one()] : one();
  }
  return out;
}

for (const d of PROTO_JSON) {
  describe(`proto/${d.json}`, () => {
    const json = JSON.parse(readFileSync(join(PROTO_DIR, d.json), "utf8"));
    test("is what its .proto files parse to (else run bun scripts/gen-proto-json.ts)", () => {
      expect(json).toEqual(JSON.parse(JSON.stringify(protoJson(PROTO_DIR, d))));
    });

    const options = OPTIONS[d.json]!;
    const reference = protoLoader.loadSync(d.files, { ...options, includeDirs: [PROTO_DIR] });
    const services = Object.keys(reference).filter((name) => !("format" in reference[name]!));
    const ours = serviceDefinitions(json, services, options);
    const root = protobuf.Root.fromJSON(json);
    root.resolveAll();

    test("holds every service of its files", () => {
      expect(services.length).toBeGreaterThan(0);
      expect(Object.keys(ours).sort()).toEqual([...services].sort());
    });

    for (const name of services) {
      const theirs = reference[name] as grpc.ServiceDefinition;
      test(`${name}: the methods, their paths, streaming and names are proto-loader's`, () => {
        const shape = (def: grpc.ServiceDefinition) =>
          Object.fromEntries(Object.entries(def).map(([m, a]) => [m, [a.path, a.requestStream, a.responseStream, a.originalName]]));
        expect(shape(ours[name]!)).toEqual(shape(theirs));
      });
      test(`${name}: the (de)serialisers give proto-loader's bytes and objects`, () => {
        for (const method of root.lookupService(name).methodsArray) {
          const a = ours[name]![method.name]!;
          const b = theirs[method.name]!;
          for (const [type, ser, de] of [
            [method.resolvedRequestType!, "requestSerialize", "requestDeserialize"],
            [method.resolvedResponseType!, "responseSerialize", "responseDeserialize"],
          ] as const) {
            const msg = sample(type);
            const bytes = b[ser](msg as never);
            expect(Buffer.from(a[ser](msg as never))).toEqual(Buffer.from(bytes));
            expect(a[de](bytes)).toEqual(b[de](bytes));
            expect(a[de](Buffer.alloc(0))).toEqual(b[de](Buffer.alloc(0)));
            expect(() => a[ser]([] as never)).toThrow("expected object");
          }
        }
      });
    }
  });
}
