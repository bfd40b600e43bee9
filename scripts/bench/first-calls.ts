// The measuring client of scale.ts's gRPC phase, in a process of its own so that its collector
// shows in its own log (run with BUN_JSC_logGC=1, its stderr read by scale.ts) and not in the
// service's: it sends pre-encoded unary calls (the 5-byte prefix and the protobuf message, made by
// scale.ts) one at a time on ONE connection and times each, from before the request to its last
// byte. Nothing is encoded or decoded while it runs: replies are returned raw and checked by
// scale.ts. `client`: `h2` (node:http2, `content-type: application/grpc`, `te: trailers`, the
// status from the trailers) or `grpc-js` (a generic grpc-js client passing the same bytes through
// identity (de)serialisers: the adapters' own client stack, for comparison).
//   bun scripts/bench/first-calls.ts SPEC.json   (SPEC: {address, client, calls: [{path, frame}], measureFrom})
// Prints one JSON line: per call its start (ms since the epoch), duration (ms), grpc-status and reply (base64).
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { grpcHeaders, type RawReply, unaryOn } from "./h2load.ts";

interface Spec {
  address: string;
  client: "h2" | "grpc-js";
  /** base64 of the framed request (prefix + message). */
  calls: { path: string; frame: string }[];
  /** Calls before this index warm the connection and the service; a full collection runs before it. */
  measureFrom: number;
}
const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Spec;
const frames = spec.calls.map((c) => Buffer.from(c.frame, "base64"));

type Send = (k: number) => Promise<RawReply>;
let send: Send;
let close: () => void;
if (spec.client === "h2") {
  const session = http2.connect(`http://${spec.address}`);
  await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
  const headers = new Map(spec.calls.map((c) => [c.path, grpcHeaders(c.path)]));
  const byCall = spec.calls.map((c) => headers.get(c.path)!);
  send = (k) => unaryOn(session, byCall[k]!, frames[k]!);
  close = () => session.close();
} else {
  const client = new grpc.Client(spec.address, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())));
  const same = (b: Buffer) => b;
  const messages = frames.map((f) => f.subarray(5));
  send = (k) =>
    new Promise((resolve) =>
      client.makeUnaryRequest(spec.calls[k]!.path, same, same, messages[k]!, (err: grpc.ServiceError | null, reply?: Buffer) =>
        resolve({ status: String(err ? err.code : 0), message: reply ?? Buffer.alloc(0) }),
      ),
    );
  close = () => client.close();
}

const n = spec.calls.length;
const start = new Float64Array(n);
const took = new Float64Array(n);
const replies: (RawReply | undefined)[] = new Array(n);
for (let k = 0; k < n; k++) {
  if (k === spec.measureFrom) Bun.gc(true); // nothing of the warm-up left for the collector to find during the run
  const t0 = performance.now();
  replies[k] = await send(k);
  took[k] = performance.now() - t0;
  start[k] = performance.timeOrigin + t0;
}
close();
console.log(
  JSON.stringify({
    start: [...start],
    ms: [...took],
    status: replies.map((r) => r?.status ?? null),
    reply: replies.map((r) => r?.message.toString("base64") ?? ""),
  }),
);
