// The protobufjs JSON descriptors under proto/ (src/grpc/definitions.ts loads the service's gRPC
// definitions from them): which .proto files each holds and how they are parsed — the same way
// @grpc/proto-loader's loadSync parses them with the service's options. Written by
// scripts/gen-proto-json.ts, checked by test/grpc-definitions.test.ts.
import { isAbsolute, join } from "node:path";
import protobuf from "protobufjs";

export interface ProtoJson {
  /** File name under proto/. */
  json: string;
  files: string[];
  /** Field names as written (true) or camelCase (false): proto-loader's keepCase. */
  keepCase: boolean;
}

export const PROTO_JSON: ProtoJson[] = [
  { json: "descriptors.json", files: ["clients/v1/clients.proto", "channels/v1/channels.proto", "grpc/health/v1/health.proto"], keepCase: true },
  { json: "fluxmq-descriptors.json", files: ["fluxmq/auth/v1/auth.proto", "broker/auth/v1/auth.proto"], keepCase: false },
];

/** The descriptor of `d`'s files, parsed from `protoDir` as proto-loader would (imports relative to it). */
export function protoJson(protoDir: string, d: ProtoJson): protobuf.INamespace {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(protoDir, target));
  root.loadSync(d.files, { keepCase: d.keepCase });
  return root.toJSON();
}
