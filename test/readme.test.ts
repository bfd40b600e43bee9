import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { REPO, run } from "./helpers/process.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * The documentation is README.md plus docs/*.md. An example is the ```bash or ```ts block right
 * after a `<!-- example: NAME -->` line (`readme-example:` is the older spelling); every one of
 * them runs here, so a documented command that stops working fails `npm test`.
 */
const DOCS = [
  "README.md",
  ...readdirSync(join(REPO, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Example {
  name: string;
  lang: string;
  code: string;
  file: string;
}

const MARKER = /<!-- (?:readme-)?example: ([\w-]+) -->/g;

function examples(): Example[] {
  const found: Example[] = [];
  for (const file of DOCS) {
    const text = readFileSync(join(REPO, file), "utf8");
    for (const m of text.matchAll(MARKER)) {
      const block = /^[ \t]*\n```(\w+)\n([\s\S]*?\n)```/.exec(text.slice(m.index + m[0].length));
      if (!block) throw new Error(`${file}: example ${m[1]} is not followed by a code block`);
      found.push({ name: m[1]!, lang: block[1]!, code: block[2]!, file });
    }
  }
  return found;
}

const EXAMPLES = examples();

/** What each example's output must show beyond exit 0 and an empty stderr (by example name). */
const EXPECT: Record<string, string[]> = {
  tour: ['"name":"door-sensor"', '"connection_types":["Publish"]', '"status":"disabled"'],
  clients: ['"name":"sensor-1"', '"name":"thermometer-2"'],
  channels: ['"connection_types":["Publish","Subscribe"]', '"id":"kitchen-humidity"', '"name":"temperature-2"'],
  roles: [
    '{"available_actions":["update","read","delete","set_parent_group","connect_to_client","publish","subscribe",',
    '"name":"admin"',
    '"name":"writers"',
    '{"actions":["read","publish","subscribe"]}',
    '"member_id":"user-3"',
    '"role_name":"writers","actions":["publish","subscribe"],"access_type":"direct"',
    '"optional_members":["user-1"]',
  ],
};

/** TypeScript examples need a setting-up of their own: one runner per example name. */
const TS_RUNNERS: Record<string, (ex: Example) => Promise<void>> = {
  // An adapter authenticates a device and authorizes its publish with only the protos.
  async grpc(ex) {
    const c = (await svc.api("POST", "/readme-grpc/clients", { credentials: { secret: "adapter-secret" } })).json;
    const ch = (await svc.api("POST", "/readme-grpc/channels", {})).json;
    await svc.api("POST", "/readme-grpc/channels/connect", { channel_ids: [ch.id], client_ids: [c.id], types: ["publish"] });
    const file = join(REPO, `.readme-grpc-${process.pid}.ts`);
    writeFileSync(file, ex.code);
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
  },
};

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.dispose());

describe("documentation examples run as printed", () => {
  test("every example has a unique name, and every expectation here names an example", () => {
    const names = EXAMPLES.map((e) => e.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const name of [...Object.keys(EXPECT), ...Object.keys(TS_RUNNERS)]) expect(names).toContain(name);
  });

  for (const ex of EXAMPLES) {
    test(`${ex.file}: ${ex.name}`, async () => {
      if (ex.lang === "bash") {
        const r = await run(["bash", "-euo", "pipefail", "-c", ex.code], { MG_URL: svc.url, TOKEN: svc.token, MG_GRPC: svc.grpcAddress });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        for (const s of EXPECT[ex.name] ?? []) expect(r.stdout).toContain(s);
        return;
      }
      const runner = ex.lang === "ts" ? TS_RUNNERS[ex.name] : undefined;
      if (!runner) throw new Error(`${ex.file}: no runner for the ${ex.lang} example ${ex.name} (add one to test/readme.test.ts)`);
      await runner(ex);
    });
  }
});

/** Markdown outside fenced code blocks (where `#` lines are shell comments and links are text). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, "");
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(readFileSync(file, "utf8")).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("documentation stays true", () => {
  test("the README fits on a few screens (at most 200 lines; longer text goes to docs/)", () => {
    const lines = readFileSync(join(REPO, "README.md"), "utf8").trimEnd().split("\n").length;
    expect(lines).toBeLessThanOrEqual(200);
  });

  test("every relative link points at a file that exists, and at a heading that exists", () => {
    const broken: string[] = [];
    for (const file of DOCS) {
      for (const m of prose(readFileSync(join(REPO, file), "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? join(REPO, file) : normalize(join(REPO, dirname(file), path));
        if (!existsSync(target)) broken.push(`${file}: ${link} (no such file)`);
        else if (anchor !== undefined && target.endsWith(".md") && !anchors(target).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("every repository path the documentation names exists (update the docs when files move)", () => {
    const missing: string[] = [];
    for (const file of DOCS) {
      const text = readFileSync(join(REPO, file), "utf8");
      for (const m of text.matchAll(/(?<![\w/.-])(?:src|test|scripts|proto|drizzle)\/[\w./-]*[\w/]/g)) {
        // patterns such as src/db/schema.*.ts or src/<capability>/ name no one file
        if (/^\.?[*<{…]/.test(text.slice(m.index + m[0].length))) continue;
        if (!existsSync(join(REPO, m[0]))) missing.push(`${file}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
