// The administrator's pages in a real browser: a user created from the users page signs in (a
// second browser context) without the administrator's pages in their navigation and gets the
// API's refusal on /users; the robot name prefix changed on the settings page reads back through
// the API; both pages pass the accessibility engine, and the settings page reflows at 200% zoom.

import type { APIRequestContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApi } from "./portal-admin-api.ts";
import {
  accessibilityViolations,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";

const ALICE = { username: "alice", password: "Alice-Password-1" };

describe("the administrator's pages", () => {
  let portal: PortalHarness;
  let api: APIRequestContext;

  beforeAll(async () => {
    portal = await startPortal();
    api = await adminApi(portal.url);
  });
  afterAll(async () => {
    await api.dispose();
    await portal.close();
  });

  it("creates a user who then signs in without the administrator's pages", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
    await page.getByRole("button", { name: "New user" }).click();
    const dialog = page.getByRole("dialog", { name: "New user" });
    await dialog.getByLabel("Username").fill(ALICE.username);
    await dialog.getByLabel("Email").fill("alice@example.test");
    await dialog.getByLabel("Password", { exact: true }).fill("weak");
    await dialog.getByLabel("Confirm the password").fill("weak");
    await dialog.getByRole("button", { name: "Create" }).click();
    // The server's rule, said before anything is sent.
    await dialog.getByText("The password does not follow the rule.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByLabel("Password", { exact: true }).fill(ALICE.password);
    await dialog.getByLabel("Confirm the password").fill(ALICE.password);
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.getByRole("status").filter({ hasText: "User alice created." }).waitFor();
    await page.getByRole("cell", { name: "alice", exact: true }).waitFor();
    await page.getByRole("button", { name: "Make alice an administrator" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    const alice = await portal.newPage();
    await signIn(alice, ALICE);
    const nav = alice.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link").allTextContents()).resolves.toEqual(["Projects", "Audit log"]);
    await alice.goto("/users");
    await alice.getByRole("alert").filter({ hasText: "You are not allowed to see this." }).waitFor();
    await expect(alice.getByRole("button", { name: "New user" }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(alice)).toEqual([]);
  });

  it("changes the robot name prefix and the API reads it back", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByLabel("Robot name prefix").fill("bot+");
    await page.getByRole("button", { name: "Save the settings" }).click();
    await page.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
    const read = (await (await api.get("/api/v2.0/configurations")).json()) as Record<string, { value: unknown }>;
    expect(read["robot_name_prefix"]?.value).toBe("bot+");
    // A value the server refuses comes back as its message.
    await page.getByLabel("Robot name prefix").fill("has space");
    await page.getByRole("button", { name: "Save the settings" }).click();
    await page.getByRole("alert").filter({ hasText: "invalid robot_name_prefix" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    const narrow = await portal.newPage({ viewport: { width: 640, height: 400 } });
    await signIn(narrow);
    await narrow.goto("/settings");
    await narrow.getByLabel("Robot name prefix").waitFor();
    expect(await overflowsHorizontally(narrow)).toBe(false);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
