import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * A real browser for the console tests: Debian's Chromium (the `chromium` package; .ci/run
 * installs it) driven by playwright-core, headless, with a fresh profile, and with every request
 * to anything but this machine blocked and recorded. Playwright never downloads a browser here.
 * Without Chromium the tests are skipped loudly, except under CI, where they fail.
 */

const CHROMIUM = process.env.MG_TEST_CHROMIUM || "/usr/bin/chromium";
const CI = (process.env.CI ?? "") !== "" && process.env.CI !== "false" && process.env.CI !== "0";
const haveChromium = existsSync(CHROMIUM);
/** Skip (off CI only) when there is no browser. */
export const skipBrowser = !haveChromium && !CI;
if (skipBrowser)
  process.stderr.write(
    `\n${"!".repeat(78)}\n!! SKIPPING the browser tests: no Chromium at ${CHROMIUM}.\n` +
      `!! Install it (apt-get install chromium) to run them; with CI=true they fail instead.\n${"!".repeat(78)}\n\n`,
  );

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to send off this machine (all were aborted). */
  blocked: string[];
  close(): Promise<void>;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export async function openBrowser(): Promise<TestBrowser> {
  if (!haveChromium) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium); CI must have it`);
  const profile = mkdtempSync(join(tmpdir(), "mgc-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  const blocked: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === "http:" || url.protocol === "https:") && !LOCAL_HOSTS.has(url.hostname)) {
      blocked.push(url.href);
      return route.abort("blockedbyclient");
    }
    return route.continue();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  return {
    context,
    page,
    blocked,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
