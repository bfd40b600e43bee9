import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, run } from "./helpers/process.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/** The code block (```bash or ```ts) that follows `<!-- readme-example: NAME -->` in README.md. */
export function readmeExample(name: string, lang = "bash"): string {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const marker = `<!-- readme-example: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no example ${name}`);
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(at));
  if (!m) throw new Error(`README example ${name} has no ${lang} block`);
  return m[1]!;
}

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

describe("README examples run as printed", () => {
  test("clients", async () => {
    const r = await run(["bash", "-euo", "pipefail", "-c", readmeExample("clients")], { MG_URL: svc.url, TOKEN: svc.token });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"name":"sensor-1"');
    expect(r.stdout).toContain('"name":"thermometer-2"');
  });

  test("grpc: an adapter authenticates a device and authorizes its publish with only the protos", async () => {
    const c = (await svc.api("POST", "/readme-grpc/clients", { credentials: { secret: "adapter-secret" } })).json;
    const ch = (await svc.api("POST", "/readme-grpc/channels", {})).json;
    await svc.api("POST", "/readme-grpc/channels/connect", { channel_ids: [ch.id], client_ids: [c.id], types: ["publish"] });
    const file = join(REPO, `.readme-grpc-${process.pid}.ts`);
    writeFileSync(file, readmeExample("grpc", "ts"));
    try {
      const r = await run([process.execPath, file], {
        MG_GRPC: svc.grpcAddress,
        CLIENT_ID: c.id,
        SECRET: "adapter-secret",
        DOMAIN: "readme-grpc",
        CHANNEL: ch.id,
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`client ${c.id} may publish on ${ch.id}\n`);
      expect(r.code).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("channels and connections", async () => {
    const r = await run(["bash", "-euo", "pipefail", "-c", readmeExample("channels")], { MG_URL: svc.url, TOKEN: svc.token });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"connection_types":["Publish","Subscribe"]');
    expect(r.stdout).toContain('"id":"kitchen-humidity"');
    expect(r.stdout).toContain('"name":"temperature-2"');
  });

  test("roles", async () => {
    const r = await run(["bash", "-euo", "pipefail", "-c", readmeExample("roles")], { MG_URL: svc.url, TOKEN: svc.token });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('{"available_actions":["update","read","delete","set_parent_group","connect_to_client","publish","subscribe",');
    expect(r.stdout).toContain('"name":"admin"');
    expect(r.stdout).toContain('"name":"writers"');
    expect(r.stdout).toContain('{"actions":["read","publish","subscribe"]}');
    expect(r.stdout).toContain('"member_id":"user-3"');
    expect(r.stdout).toContain('"role_name":"writers","actions":["publish","subscribe"],"access_type":"direct"');
    expect(r.stdout).toContain('"optional_members":["user-1"]');
  });
});
