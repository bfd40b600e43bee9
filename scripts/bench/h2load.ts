// Load generation for scripts/bench/grpc.ts: h2load (Debian package `nghttp2-client`) sending one
// pre-encoded unary gRPC request over and over — `content-type: application/grpc`, `te: trailers`,
// the 5-byte length prefix and the protobuf message — so the generator is C, not a grpc-js client
// that saturates near 6,000 calls/s before the servers do (issue #14). h2load judges an answer by
// its HTTP status only, and gRPC reports failures in trailers, so every request body is first sent
// once through node:http2 and its answer checked (grpc-status 0 and the expected reply); latencies
// come from h2load's per-request log.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CpuShare, cpuOfChild, cpuTicks, requireTool, shareOf } from "./cpu.ts";

export interface GrpcMethod {
  path: string;
  requestSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

export interface H2Result {
  calls: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpu: CpuShare;
}

export const requireH2load = () => requireTool("h2load", "apt-get install -y nghttp2-client");

/** A unary request as it travels: an uncompressed-message flag byte, the length (big-endian), the message. */
export function grpcFrame(method: GrpcMethod, request: unknown): Buffer {
  const msg = method.requestSerialize(request);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** A unary call's answer as it travelled: its grpc-status and the reply message (without the 5-byte prefix). */
export interface RawReply {
  status: string | undefined;
  message: Buffer;
}

/** The request headers of a gRPC call to `path` (one object per method, reused). */
export const grpcHeaders = (path: string) => ({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });

/** Sends one framed request on an open node:http2 session; grpc-status from the trailers (or a trailers-only answer). */
export function unaryOn(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, frame: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const chunks: Buffer[] = [];
    let status: string | undefined;
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]); // trailers-only answer
    });
    req.on("trailers", (h) => {
      status = String(h["grpc-status"]);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ status, message: body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : body });
    });
    req.end(frame);
  });
}

/** Sends one framed request through node:http2 and returns the decoded reply; throws unless grpc-status is 0. */
export async function checkOnce(address: string, method: GrpcMethod, frame: Buffer): Promise<unknown> {
  const session = http2.connect(`http://${address}`);
  try {
    const r = await unaryOn(session, grpcHeaders(method.path), frame);
    if (r.status !== "0") throw new Error(`${method.path} on ${address}: grpc-status ${r.status}`);
    return method.responseDeserialize(r.message);
  } finally {
    session.close();
  }
}

let seq = 0;

/**
 * h2load for `seconds` on `clients` connections with `streams` calls in flight on each (one thread),
 * all sending `frame`. `serverPid`: whose CPU to report beside the generator's.
 */
export async function h2load(opts: {
  address: string;
  method: GrpcMethod;
  frame: Buffer;
  seconds: number;
  clients: number;
  streams: number;
  serverPid: number;
}): Promise<H2Result> {
  requireH2load();
  const base = join(tmpdir(), `mgc-h2load-${process.pid}-${++seq}`);
  writeFileSync(`${base}.bin`, opts.frame);
  try {
    const s0 = cpuTicks(opts.serverPid);
    const t0 = performance.now();
    const { out, ticks } = await cpuOfChild([
      "h2load",
      "-t1",
      `-c${opts.clients}`,
      `-m${opts.streams}`,
      `-D${opts.seconds}`,
      `--data=${base}.bin`,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `--log-file=${base}.log`,
      `http://${opts.address}${opts.method.path}`,
    ]);
    const wall = (performance.now() - t0) / 1000;
    const cpu = shareOf(ticks, cpuTicks(opts.serverPid) - s0, wall);
    const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    if (!m || !Number.isFinite(rps)) throw new Error(`h2load gave no figure:\n${out}`);
    // log lines: start time (µs), HTTP status, elapsed (µs)
    const lat: number[] = [];
    let bad = 0;
    for (const line of readFileSync(`${base}.log`, "utf8").split("\n")) {
      const f = line.split("\t");
      if (f.length < 3) continue;
      if (f[1] !== "200") bad++;
      lat.push(Number(f[2]) / 1000);
    }
    lat.sort((a, b) => a - b);
    const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? NaN;
    return { calls: Number(m[3]), rps, p50: at(0.5), p99: at(0.99), errors: Number(m[5]) + Number(m[6]) + Number(m[7]) + bad, cpu };
  } finally {
    rmSync(`${base}.bin`, { force: true });
    rmSync(`${base}.log`, { force: true });
  }
}
