import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openBrowser, skipBrowser, type TestBrowser } from "./helpers/browser.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * The pages a person opens in a browser, in a real Chromium (test/helpers/browser.ts) with every
 * request off this machine blocked: the OpenAPI UI, and the console's flows. What is asserted is
 * what a person sees, found by role and accessible name.
 */

let svc: TestService;
let browser: TestBrowser;
beforeAll(async () => {
  if (skipBrowser) return;
  [svc, browser] = await Promise.all([startTestService(), openBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await svc?.dispose();
});

describe.skipIf(skipBrowser)("in a browser", () => {
  test("/openapi renders its route list with no network beyond this machine", async () => {
    const { page } = browser;
    await page.goto(`${svc.url}/openapi`);
    await page.getByRole("heading", { name: /^magistrala-clients/, level: 1 }).waitFor();
    const create = page.getByRole("button", { name: "POST /{domainID}/clients Create a client createClient" });
    await create.waitFor();
    await page.getByRole("button", { name: /^DELETE \/\{domainID\}\/channels\/\{channelID\} Delete a channel/ }).waitFor();
    expect(await page.getByRole("button", { name: /^(GET|POST|PATCH|PUT|DELETE) \// }).count()).toBeGreaterThanOrEqual(60);
    // An operation's documented responses, the error body's among them.
    await create.click();
    await page.getByRole("cell", { name: "415", exact: true }).waitFor();
    await page.getByRole("cell", { name: "201", exact: true }).waitFor();
    expect(browser.blocked).toEqual([]);
  });
});
