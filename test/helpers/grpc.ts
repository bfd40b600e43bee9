import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** gRPC clients built only from the repository's .proto files, as an adapter would build them. */
export const PROTO_DIR = join(import.meta.dir, "..", "..", "proto");

const definition = protoLoader.loadSync(["clients/v1/clients.proto", "channels/v1/channels.proto", "grpc/health/v1/health.proto"], {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const pkg = grpc.loadPackageDefinition(definition) as any;

export interface GrpcClients {
  clients: any;
  channels: any;
  health: any;
  close(): void;
}

export function grpcClients(
  address: string,
  creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): GrpcClients {
  const clients = new pkg.clients.v1.ClientsService(address, creds, options);
  const channels = new pkg.channels.v1.ChannelsService(address, creds, options);
  const health = new pkg.grpc.health.v1.Health(address, creds, options);
  return {
    clients,
    channels,
    health,
    close() {
      clients.close();
      channels.close();
      health.close();
    },
  };
}

export interface CallResult<T = any> {
  code: grpc.status;
  details: string;
  value?: T;
}

/** Calls a unary method and resolves with its status code (OK or the error's) and value. */
export function call<T = any>(client: any, method: string, req: unknown, deadlineMs = 5000): Promise<CallResult<T>> {
  return new Promise((resolve) => {
    client[method](req, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, value: T) => {
      if (err) resolve({ code: err.code, details: err.details });
      else resolve({ code: grpc.status.OK, details: "", value });
    });
  });
}

export const basic = (id: string, secret: string) => `Basic${Buffer.from(`${id}:${secret}`).toString("base64")}`;
export const domainToken = (domain: string, secret: string) => `Domain${Buffer.from(`${domain}:${secret}`).toString("base64")}`;
export { grpc };
