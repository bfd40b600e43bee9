// Latency probe for scripts/bench/bulk-authn.ts (throughput comes from h2load, scripts/bench/h2load.ts),
// run as its own process so it does not share the
// server's event loop: `concurrency` calls in flight on one channel for `seconds`, cycling over the
// given requests. Prints one JSON line: {calls, seconds, rps, p50, p99, errors, codes}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

interface Spec {
  address: string;
  service: "clients" | "channels";
  method: string;
  requests: unknown[];
  concurrency: number;
  seconds: number;
}
const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Spec;
const def = protoLoader.loadSync(["clients/v1/clients.proto", "channels/v1/channels.proto"], {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  includeDirs: [join(import.meta.dir, "..", "..", "proto")],
});
const pkg = grpc.loadPackageDefinition(def) as any;
const Ctor = spec.service === "clients" ? pkg.clients.v1.ClientsService : pkg.channels.v1.ChannelsService;
const client = new Ctor(spec.address, grpc.credentials.createInsecure());
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (e: Error | null) => (e ? reject(e) : resolve())));

const latencies: number[] = [];
const codes: Record<string, number> = {};
let next = 0;
let errors = 0;
const end = performance.now() + spec.seconds * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from(
    { length: spec.concurrency },
    () =>
      new Promise<void>((resolve) => {
        const one = () => {
          if (performance.now() >= end) return resolve();
          const req = spec.requests[next++ % spec.requests.length];
          const start = performance.now();
          client[spec.method](req, (err: grpc.ServiceError | null) => {
            latencies.push(performance.now() - start);
            const code = err ? (grpc.status[err.code] ?? String(err.code)) : "OK";
            codes[code] = (codes[code] ?? 0) + 1;
            if (err) errors++;
            one();
          });
        };
        one();
      }),
  ),
);
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
console.log(JSON.stringify({ calls: latencies.length, seconds: elapsed, rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, codes }));
client.close();
