// Signing in to the portal in a real browser (Debian's Chromium): the form, its labels and
// errors, French, 200% zoom, the accessibility engine on the page, and nothing fetched from
// anywhere but the registry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../helpers.ts";
import {
  accessibilityViolations,
  focusedId,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";

describe("the sign-in page", () => {
  let portal: PortalHarness;

  beforeAll(async () => {
    portal = await startPortal();
  });
  afterAll(() => portal.close());

  it("renders its form with labelled fields and passes the accessibility engine", async () => {
    const page = await portal.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
    await page.goto("/projects");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Sign in");
    await expect(page.title()).resolves.toBe("Sign in · Airlock");
    await expect(page.getByLabel("Username").getAttribute("autocomplete")).resolves.toBe("username");
    await expect(page.getByLabel("Password").getAttribute("type")).resolves.toBe("password");
    expect(await accessibilityViolations(page)).toEqual([]);
    // Signed out, the portal asked who is signed in and got Harbor's 401: no other error.
    expect(consoleErrors.filter((text) => !text.includes("401"))).toEqual([]);
  });

  it("speaks French when the browser does, and switches language on request", async () => {
    const page = await portal.newPage({ locale: "fr-FR" });
    await page.goto("/");
    await page.getByRole("heading", { level: 1, name: "Connexion" }).waitFor();
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("fr");
    await page.getByLabel("Langue").selectOption("en");
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("en");
    // The choice is remembered in this browser.
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("reflows at 200% zoom (a 640-pixel-wide viewport) without horizontal scrolling", async () => {
    const page = await portal.newPage({ viewport: { width: 640, height: 400 } });
    await page.goto("/");
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
  });

  it("can be used from the keyboard alone", async () => {
    const page = await portal.newPage();
    await page.goto("/");
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await page.keyboard.press("Tab");
    await expect(focusedId(page)).resolves.toBe("sign-in-username");
    await page.keyboard.type("admin");
    await page.keyboard.press("Tab");
    await expect(focusedId(page)).resolves.toBe("sign-in-password");
    await page.keyboard.type("not-the-password");
    await page.keyboard.press("Enter");
    await page.getByRole("alert").waitFor();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Wrong username or password");
  });

  it("signs in with a session cookie out of the script's reach, and out again", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await expect(page.getByText("Signed in as admin").isVisible()).resolves.toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: "sid", httpOnly: true, secure: true, sameSite: "Strict" });
    await expect(page.evaluate<string>("document.cookie")).resolves.toBe("");
    // A reload keeps the session; signing out ends it on the server, not just in the page.
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Projects" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    const reply = await request(`${portal.url}/api/v2.0/users/current`, {
      ca: portal.ca,
      headers: { Cookie: `sid=${cookie?.value ?? ""}` },
    });
    expect(reply.status).toBe(401);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
