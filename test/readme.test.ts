import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, run } from "./helpers/process.ts";
import { type TestService, startTestService } from "./helpers/service.ts";

/** The bash block that follows `<!-- readme-example: NAME -->` in README.md. */
export function readmeExample(name: string): string {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const marker = `<!-- readme-example: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no example ${name}`);
  const m = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README example ${name} has no bash block`);
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
