// Calls ClientsService.Authenticate once with only the repository's protos (used by
// scripts/smoke-arm64.sh against a compiled binary). Usage: bun scripts/grpc-authenticate.ts <host:port> <token>
// Prints "authenticated <id>" and exits 0, or "refused <status> <details>" and exits 1.

import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const [address, token] = process.argv.slice(2);
if (!address || token === undefined) {
  console.error("usage: bun scripts/grpc-authenticate.ts <host:port> <token>");
  process.exit(2);
}
const def = protoLoader.loadSync(["clients/v1/clients.proto"], { keepCase: true, includeDirs: [join(import.meta.dir, "..", "proto")] });
const pkg = grpc.loadPackageDefinition(def) as any;
const client = new pkg.clients.v1.ClientsService(address, grpc.credentials.createInsecure());
client.Authenticate({ token }, { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, res: { authenticated: boolean; id: string }) => {
  if (err) console.log(`refused ${grpc.status[err.code]} ${err.details}`);
  else console.log(`authenticated ${res.id}`);
  client.close();
  process.exit(err || !res.authenticated ? 1 : 0);
});
