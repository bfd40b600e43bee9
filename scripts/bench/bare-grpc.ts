// Baseline for scripts/bench/grpc.ts: the same .proto services with empty grpc-js unary handlers
// (a constant answer, no work), on one insecure listener. Prints "ready <port>".
import * as grpc from "@grpc/grpc-js";
import { grpcDefinitions } from "../../src/grpc/server.ts";

const protos = grpcDefinitions();
const server = new grpc.Server();
const authenticated = { authenticated: true, id: "00000000-0000-4000-8000-000000000000" };
const authorized = { authorized: true };
server.addService(protos.clients, {
  Authenticate: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, authenticated),
});
server.addService(protos.channels, {
  Authorize: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, authorized),
});
server.bindAsync("localhost:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`ready ${port}`);
});
