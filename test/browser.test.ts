import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { openBrowser, skipBrowser, type TestBrowser } from "./helpers/browser.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

/**
 * What a person sees in a browser, in a real Chromium (test/helpers/browser.ts) with every request
 * off this machine blocked: the OpenAPI UI, and the console's flows one after the other on one
 * page, each found by role and accessible name. MG_TEST_SCREENSHOT=1 refreshes docs/console.png.
 */

let svc: TestService;
let browser: TestBrowser;
let page: Page;
const D = "gateway-7";
/** Per flow (bun test ignores bunfig's timeout; a flow takes well under a second or two). */
const FLOW_MS = 30_000;
beforeAll(async () => {
  if (skipBrowser) return;
  [svc, browser] = await Promise.all([startTestService(), openBrowser()]);
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await svc?.dispose();
});

const shown = (l: Locator) => l.waitFor({ state: "visible" });
const gone = (l: Locator) => l.waitFor({ state: "hidden" });
const clientsTable = () => page.getByRole("table", { name: "Clients", exact: true });
const row = (table: Locator, name: string) => table.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
const dialog = () => page.getByRole("dialog");
/** What the page shows once it settles: a list is re-fetched after each action, so poll until it matches. */
async function eventually<T>(read: () => Promise<T>, expected: T, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  let last = await read();
  while (!Bun.deepEquals(last, expected) && Date.now() < until) {
    await Bun.sleep(25);
    last = await read();
  }
  expect(last as unknown).toEqual(expected);
}
const links = (table: Locator) => () => table.getByRole("link").allInnerTexts();

describe.skipIf(skipBrowser)("in a browser", () => {
  test(
    "/openapi renders its route list with no network beyond this machine",
    async () => {
      await page.goto(`${svc.url}/openapi`);
      await shown(page.getByRole("heading", { name: /^magistrala-clients/, level: 1 }));
      const create = page.getByRole("button", { name: "POST /{domainID}/clients Create a client createClient" });
      await shown(create);
      await shown(page.getByRole("button", { name: /^DELETE \/\{domainID\}\/channels\/\{channelID\} Delete a channel/ }));
      expect(await page.getByRole("button", { name: /^(GET|POST|PATCH|PUT|DELETE) \// }).count()).toBeGreaterThanOrEqual(60);
      // An operation's documented responses, the error body's among them.
      await create.click();
      await shown(page.getByRole("cell", { name: "415", exact: true }));
      await shown(page.getByRole("cell", { name: "201", exact: true }));
      expect(browser.blocked).toEqual([]);
    },
    FLOW_MS,
  );

  test(
    "sign in: a wrong token is refused with the API's message, the right one opens the domain chooser",
    async () => {
      await page.goto(`${svc.url}/console`);
      const token = page.getByLabel("Standalone token");
      await token.fill("not-the-token");
      await token.press("Enter"); // the keyboard is enough
      await shown(page.getByRole("alert").filter({ hasText: "failed to perform authentication over the entity" }));
      await token.fill(svc.token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByLabel("Domain id").fill(D);
      await page.getByRole("button", { name: "Open domain" }).click();
      await shown(page.getByRole("heading", { name: "Clients", level: 1 }));
      await shown(page.getByText(`Domain ${D}`));
      // The token is in the tab's session storage only.
      expect(await page.evaluate(() => [sessionStorage.getItem("mgc.token") !== null, Object.keys(localStorage).join()])).toEqual([true, "mgc.recentDomains"]);
    },
    FLOW_MS,
  );

  test(
    "create a client and see it in the list, its secret shown once (by keyboard)",
    async () => {
      await page.getByRole("button", { name: "New client" }).focus();
      await page.keyboard.press("Enter");
      await shown(dialog());
      await page.keyboard.type("thermometer-a1"); // the dialog's first field has the focus
      await dialog().getByLabel("Identity").fill("thermo-a1");
      await dialog().getByLabel("Secret").fill("s3cr3t-thermo-a1");
      await dialog().getByLabel("Tags").fill("lab, floor-2");
      await dialog().getByLabel("Metadata").fill('{"room": "a1"}');
      await dialog().getByLabel("Tags").press("Enter"); // submits the form
      await shown(dialog().getByRole("status").filter({ hasText: "s3cr3t-thermo-a1" }));
      await page.keyboard.press("Enter"); // Done has the focus
      await gone(dialog());
      const r = row(clientsTable(), "thermometer-a1");
      await shown(r);
      expect(await r.getByRole("cell").allInnerTexts()).toEqual([
        "",
        "thermometer-a1",
        "thermo-a1",
        "lab, floor-2",
        "enabled",
        "never seen",
        expect.stringMatching(/UTC$/),
      ]);
      expect(await page.getByText("s3cr3t-thermo-a1").count()).toBe(0); // gone once the dialog is closed
    },
    FLOW_MS,
  );

  test(
    "bulk create three from CSV and see their secrets once",
    async () => {
      await page.getByRole("button", { name: "Bulk create" }).click();
      await dialog()
        .getByLabel("CSV", { exact: true })
        .fill('name,identity,secret,tags,metadata\nsensor-1,s-1,,lab,\nsensor-2,s-2,,"lab,roof","{""floor"": 3}"\nsensor-3,s-3,,,\n');
      await dialog().getByRole("button", { name: "Create all" }).click();
      const created = dialog().getByRole("table", { name: "Created clients" });
      await shown(created);
      const rows = created.getByRole("row");
      expect(await rows.count()).toBe(4);
      const secrets = await created.locator("tbody tr td:nth-child(4)").allInnerTexts();
      expect(secrets.map((s) => s.length > 10)).toEqual([true, true, true]);
      expect(await rows.nth(2).getByRole("cell").first().innerText()).toBe("sensor-2");
      const download = page.waitForEvent("download");
      await dialog().getByRole("button", { name: "Download secrets (CSV)" }).click();
      const file = await (await download).path();
      const csv = await Bun.file(file).text();
      for (const s of secrets) expect(csv).toContain(s);
      await dialog().getByRole("button", { name: "Done" }).click();
      for (const s of secrets) expect(await page.getByText(s).count()).toBe(0);
      for (const n of ["sensor-1", "sensor-2", "sensor-3"]) await shown(row(clientsTable(), n));
    },
    FLOW_MS,
  );

  test(
    "search by name and tags, sort and page",
    async () => {
      const search = page.getByRole("search");
      await search.getByLabel("Name").fill("sensor");
      await search.getByRole("button", { name: "Search" }).click();
      await gone(row(clientsTable(), "thermometer-a1"));
      await eventually(async () => (await links(clientsTable())()).sort(), ["sensor-1", "sensor-2", "sensor-3"]);
      await search.getByLabel("Tags").fill("roof");
      await search.getByLabel("Tags").press("Enter");
      await gone(row(clientsTable(), "sensor-1"));
      await eventually(links(clientsTable()), ["sensor-2"]);
      await search.getByLabel("Name").fill("");
      await search.getByLabel("Tags").fill("");
      await search.getByRole("button", { name: "Search" }).click();
      await page.getByRole("button", { name: "Name" }).click(); // name, ascending
      await shown(page.getByRole("columnheader", { name: "Name" }).and(page.locator('[aria-sort="ascending"]')));
      await page.getByRole("navigation", { name: "Pages of clients" }).getByLabel("Page size").selectOption("10");
      await eventually(links(clientsTable()), ["sensor-1", "sensor-2", "sensor-3", "thermometer-a1"]);
      await shown(page.getByRole("status").filter({ hasText: "1–4 of 4" }));
    },
    FLOW_MS,
  );

  test(
    "paging, and a recent domain remembered by the domain chooser",
    async () => {
      const other = "paging-domain";
      const bulk = await svc.api(
        "POST",
        `/${other}/clients/bulk`,
        Array.from({ length: 12 }, (_, i) => ({ name: `dev-${String(i).padStart(2, "0")}` })),
      );
      expect(bulk.status).toBe(200);
      await page.getByRole("button", { name: "Change domain" }).click();
      await shown(page.getByRole("list", { name: "Recent domains" }).getByRole("button", { name: D }));
      await page.getByLabel("Domain id").fill(other);
      await page.getByRole("button", { name: "Open domain" }).click();
      const pager = page.getByRole("navigation", { name: "Pages of clients" });
      await shown(pager.getByRole("status").filter({ hasText: "1–10 of 12" }));
      await pager.getByRole("button", { name: "Next page" }).click();
      await shown(pager.getByRole("status").filter({ hasText: "11–12 of 12" }));
      await eventually(async () => (await links(clientsTable())()).length, 2);
      await pager.getByLabel("Page size").selectOption("25");
      await shown(pager.getByRole("status").filter({ hasText: "1–12 of 12" }));
      await page.getByRole("button", { name: "Change domain" }).click();
      const recent = page.getByRole("list", { name: "Recent domains" }).getByRole("button");
      expect(await recent.allInnerTexts()).toEqual([other, D]);
      await recent.filter({ hasText: D }).click();
      await shown(row(clientsTable(), "thermometer-a1"));
    },
    FLOW_MS,
  );

  test(
    "edit tags; an API error shows next to the control that caused it",
    async () => {
      await clientsTable().getByRole("link", { name: "thermometer-a1" }).click();
      await shown(page.getByRole("heading", { name: "Client thermometer-a1", level: 1 }));
      const edit = page.getByRole("form", { name: "Edit thermometer-a1" });
      await edit.getByLabel("Tags").fill("lab, floor-3");
      await edit.getByRole("button", { name: "Save changes" }).click();
      await shown(edit.getByRole("status").filter({ hasText: "Saved." }));
      await shown(page.getByRole("definition").filter({ hasText: "lab, floor-3" }));
      await edit.getByLabel("Name").fill("x".repeat(1025));
      await edit.getByRole("button", { name: "Save changes" }).click();
      const err = edit.getByRole("alert");
      await shown(err.filter({ hasText: "invalid name size" }));
      expect(await edit.getByRole("button", { name: "Save changes" }).getAttribute("aria-describedby")).toBe(await err.getAttribute("id"));
      await edit.getByLabel("Name").fill("thermometer-a1");
    },
    FLOW_MS,
  );

  test(
    "rotate the secret (shown once) and disable",
    async () => {
      await page.getByRole("button", { name: "Rotate secret" }).click();
      const secret = page.getByRole("status").filter({ hasText: "New secret" });
      await shown(secret);
      expect((await secret.locator("code").innerText()).length).toBe(64);
      await page.getByRole("button", { name: "Disable" }).click();
      await shown(page.getByRole("button", { name: "Enable" }));
      await shown(page.getByRole("heading", { level: 1 }).locator("xpath=..").getByText("disabled", { exact: true }));
      await page.getByRole("button", { name: "Enable" }).click();
      await shown(page.getByRole("button", { name: "Disable" }));
    },
    FLOW_MS,
  );

  test(
    "create a channel with a route (a bad route is refused with the API's message)",
    async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Channels" }).click();
      await shown(page.getByRole("heading", { name: "Channels", level: 1 }));
      await page.getByRole("button", { name: "New channel" }).click();
      await dialog().getByLabel("Name").fill("lab-telemetry");
      await dialog().getByLabel("Route").fill("1-not-a-route");
      await dialog().getByRole("button", { name: "Create channel" }).click();
      await shown(dialog().getByRole("alert").filter({ hasText: "invalid route format" }));
      await dialog().getByLabel("Route").fill("lab-telemetry");
      await dialog().getByRole("button", { name: "Create channel" }).click();
      await dialog().getByRole("button", { name: "Done" }).click();
      const r = row(page.getByRole("table", { name: "Channels", exact: true }), "lab-telemetry");
      await shown(r);
      expect(await r.getByRole("cell").nth(2).innerText()).toBe("lab-telemetry");
    },
    FLOW_MS,
  );

  test(
    "connect the client for publish and see the connection from both sides; disconnect",
    async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
      await page.getByRole("checkbox", { name: "Select thermometer-a1" }).check();
      await page.getByRole("button", { name: "Connect selected (1)" }).click();
      await dialog().getByLabel("Channel").selectOption({ label: "lab-telemetry (lab-telemetry)" });
      await dialog().getByLabel("Connection type").selectOption("publish");
      await dialog().getByRole("button", { name: "Connect" }).click();
      await dialog().getByRole("button", { name: "Done" }).click();
      // From the client: its channels.
      await clientsTable().getByRole("link", { name: "thermometer-a1" }).click();
      const channels = page.getByRole("table", { name: "Channels of thermometer-a1" });
      await shown(row(channels, "lab-telemetry"));
      expect(await row(channels, "lab-telemetry").getByRole("cell").nth(2).innerText()).toBe("Publish");
      // From the channel: its clients.
      await channels.getByRole("link", { name: "lab-telemetry" }).click();
      const clients = page.getByRole("table", { name: "Clients of lab-telemetry" });
      await shown(row(clients, "thermometer-a1"));
      expect(await row(clients, "thermometer-a1").getByRole("cell").nth(2).innerText()).toBe("Publish");
      await clients.getByRole("button", { name: "Disconnect thermometer-a1" }).click();
      await shown(clients.getByText("Not connected to any client."));
      await clients.getByRole("link").count();
      // And from the client's side again.
      await page.goto(`${svc.url}/console#/clients`);
      await clientsTable().getByRole("link", { name: "thermometer-a1" }).click();
      await shown(page.getByRole("table", { name: "Channels of thermometer-a1" }).getByText("Not connected to any channel."));
    },
    FLOW_MS,
  );

  test(
    "roles: create one with actions, add and remove an action and a member",
    async () => {
      const roles = page.getByRole("table", { name: "Roles of thermometer-a1" });
      await shown(roles.getByRole("rowheader", { name: /^admin/ }));
      const form = page.getByRole("form", { name: "New role" });
      await form.getByLabel("Role name").fill("operators");
      await form.getByRole("checkbox", { name: "read" }).check();
      await form.getByRole("checkbox", { name: "update" }).check();
      await form.getByRole("button", { name: "Create role" }).click();
      const actions = roles.getByRole("list", { name: "Actions of operators" });
      await shown(actions.getByText("update"));
      expect(await actions.getByRole("listitem").allInnerTexts()).toEqual(["update ×", "read ×"]);
      await roles.getByLabel("Action for operators").selectOption("delete");
      await roles.getByRole("form", { name: "Add an action to operators" }).getByRole("button", { name: "Add action" }).click();
      await shown(actions.getByText("delete"));
      await roles.getByRole("button", { name: "Remove action read from operators" }).click();
      await gone(roles.getByRole("button", { name: "Remove action read from operators" }));
      await roles.getByLabel("Member user id for operators").fill("user-7");
      await roles.getByRole("form", { name: "Add a member to operators" }).getByRole("button", { name: "Add member" }).click();
      await shown(roles.getByRole("list", { name: "Members of operators" }).getByText("user-7"));
      await roles.getByRole("button", { name: "Remove member user-7 from operators" }).click();
      await gone(roles.getByRole("list", { name: "Members of operators" }).getByText("user-7"));
    },
    FLOW_MS,
  );

  test(
    "the events page tails what the service emits",
    async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Events" }).click();
      const events = page.getByRole("table", { name: "Latest events" });
      await shown(page.getByRole("status").filter({ hasText: "Live" }));
      // Replayed: the changes made above.
      await shown(events.getByRole("cell", { name: "client.create", exact: true }).first());
      await shown(events.getByRole("cell", { name: "channel.disconnect", exact: true }).first());
      // Live: a change made elsewhere shows up.
      const made = await svc.api("POST", `/${D}/channels`, { name: "from-curl" });
      await shown(events.getByRole("row").filter({ hasText: made.json.id }).getByRole("cell", { name: "channel.create" }));
    },
    FLOW_MS,
  );

  test(
    "delete with confirmation; a screenshot of the console",
    async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
      await clientsTable().getByRole("link", { name: "sensor-3" }).click();
      await page.getByRole("button", { name: "Delete", exact: true }).click();
      const confirm = page.getByRole("dialog", { name: "Delete client sensor-3?" });
      await confirm.getByRole("button", { name: "Cancel" }).click();
      await gone(confirm);
      await page.getByRole("button", { name: "Delete", exact: true }).click();
      await confirm.getByRole("button", { name: "Delete client" }).click();
      await shown(page.getByRole("heading", { name: "Clients", level: 1 }));
      await shown(row(clientsTable(), "sensor-1"));
      expect(await row(clientsTable(), "sensor-3").count()).toBe(0);
      expect((await svc.api("GET", `/${D}/clients?name=sensor-3`)).json.total).toBe(0);
      const path = process.env.MG_TEST_SCREENSHOT ? join(import.meta.dir, "..", "docs", "console.png") : join(tmpdir(), "mgc-console.png");
      await page.screenshot({ path, clip: { x: 0, y: 0, width: 1280, height: 400 } });
      expect(Bun.file(path).size).toBeGreaterThan(10_000);
      expect(browser.blocked).toEqual([]);
    },
    FLOW_MS,
  );
});
