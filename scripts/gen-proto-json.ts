// Writes the protobufjs JSON descriptors the service loads its gRPC definitions from
// (src/grpc/definitions.ts): proto/descriptors.json (clients, channels, health; field names as
// written) and proto/fluxmq-descriptors.json (FluxMQ's AuthService, both packages; camelCase
// field names, as FluxMQ's generated clients have them). Run after changing a .proto file:
//   bun scripts/gen-proto-json.ts
// test/grpc-definitions.test.ts fails while a descriptor differs from its .proto files.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROTO_JSON, protoJson } from "./proto-json.ts";

const ROOT = join(import.meta.dir, "..");
for (const d of PROTO_JSON) {
  writeFileSync(join(ROOT, "proto", d.json), `${JSON.stringify(protoJson(join(ROOT, "proto"), d))}\n`);
  console.log(`wrote proto/${d.json}`);
}
