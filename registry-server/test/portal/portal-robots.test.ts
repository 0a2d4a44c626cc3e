// A project's robot accounts in a real browser: a robot made with pull and push, its secret shown
// once and copied through the clipboard, then used by skopeo to log in and push; the secret gone
// from the page once the dialog closes; a new secret that retires the old one; disabling and
// deleting; a robot refused at the portal's sign-in; a guest shown the list without its controls. The accessibility engine on each state, French, 200% zoom, nothing off the origin.

import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessibilityViolations,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";
import { api, createMember, createProject, skopeoFor } from "./portal-robots-fixture.ts";

const PROJECT = "robotics";
const ROBOT = `robot$${PROJECT}+ci`;
const GUEST = { username: "visitor", password: "Visitor-pass-1" };
const GUEST_ROLE = 3;

describe("a project's robot accounts page", () => {
  let portal: PortalHarness;
  let skopeo: ReturnType<typeof skopeoFor>;
  let projectId: number;
  let secret = "";

  beforeAll(async () => {
    portal = await startPortal();
    projectId = await createProject(portal, PROJECT);
    await createMember(portal, PROJECT, GUEST, GUEST_ROLE);
    skopeo = skopeoFor(portal);
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
    skopeo?.remove();
  });

  async function robotsPage(page: Page): Promise<void> {
    await page.goto(`/projects/${projectId}/robots`);
    await page.getByRole("heading", { level: 2, name: /^(Robot accounts|Comptes robots)$/ }).waitFor();
  }

  it("creates a robot with pull and push, shows its secret once, and skopeo pushes with it", async () => {
    const page = await portal.newPage();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: new URL(portal.url).origin,
    });
    await signIn(page);
    await robotsPage(page);
    await page.getByText("This project has no robot accounts yet.").waitFor();
    await expect(page.title()).resolves.toBe(`Robot accounts · ${PROJECT} · Airlock`);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "New robot account" }).click();
    const form = page.getByRole("dialog", { name: "New robot account" });
    // Refused in the page before the API sees it: a name with upper case, no permission.
    await form.getByLabel("Name", { exact: true }).fill("CI");
    await form.getByRole("checkbox", { name: "Repository: Pull" }).uncheck();
    await form.getByRole("button", { name: "Create" }).click();
    await form.getByText("Use lowercase letters and digits").waitFor();
    await form.getByText("Choose at least one permission.").waitFor();
    await expect(form.getByLabel("Name", { exact: true }).getAttribute("aria-invalid")).resolves.toBe("true");
    expect(await accessibilityViolations(page)).toEqual([]);

    await form.getByLabel("Name", { exact: true }).fill("ci");
    await form.getByLabel("Description (optional)").fill("The CI pipeline");
    await form.getByRole("checkbox", { name: "Repository: Pull" }).check();
    await form.getByRole("checkbox", { name: "Repository: Push" }).check();
    await form.getByRole("radio", { name: "Expires after a number of days" }).check();
    await form.getByRole("spinbutton", { name: "Days" }).fill("30");
    await form.getByRole("button", { name: "Create" }).click();

    const shown = page.getByRole("dialog", { name: `Secret of ${ROBOT}` });
    await shown.waitFor();
    await shown.getByText("it will not be shown again").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await shown.getByRole("button", { name: "Copy Secret" }).click();
    await shown.getByText("Copied", { exact: true }).waitFor();
    secret = await page.evaluate<string>("navigator.clipboard.readText()");
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    await expect(shown.getByRole("textbox", { name: "Secret" }).inputValue()).resolves.toBe(secret);
    await expect(shown.getByRole("textbox", { name: "Robot account name" }).inputValue()).resolves.toBe(ROBOT);

    // Kept as a file: a blob: download, which the portal's CSP allows.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      shown.getByRole("link", { name: "Download as JSON" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${ROBOT}.json`);
    expect(JSON.parse(readFileSync(await download.path(), "utf8"))).toEqual({ name: ROBOT, secret });

    await shown.getByRole("button", { name: "I have copied it" }).click();
    await shown.waitFor({ state: "hidden" });
    expect(await page.content()).not.toContain(secret);
    const row = page.getByRole("row", { name: new RegExp(ROBOT.replace(/[$+]/g, "\\$&")) });
    await expect(row.textContent()).resolves.toContain("Repository: pull, push");
    await expect(row.textContent()).resolves.toContain("Enabled");
    await expect(row.textContent()).resolves.toContain("The CI pipeline");
    expect(await accessibilityViolations(page)).toEqual([]);

    const listed = await api(portal, "GET", `/robots?q=Level=project,ProjectID=${projectId}`);
    expect(listed.json).toMatchObject([
      {
        name: ROBOT,
        duration: 30,
        permissions: [
          {
            kind: "project",
            namespace: PROJECT,
            access: [
              { resource: "repository", action: "pull" },
              { resource: "repository", action: "push" },
            ],
          },
        ],
      },
    ]);

    const login = await skopeo.login({ username: ROBOT, password: secret });
    expect(login.status, login.output).toBe(0);
    const pushed = await skopeo.push(`${PROJECT}/app:1.0`);
    expect(pushed.status, pushed.output).toBe(0);
  });

  it("refreshes the secret: shown once, the old one refused, the new one pushing", async () => {
    expect(secret).not.toBe("");
    const page = await portal.newPage();
    await signIn(page);
    await robotsPage(page);
    await page.getByRole("button", { name: `Refresh secret for ${ROBOT}` }).click();
    const confirm = page.getByRole("dialog", { name: `Refresh the secret of ${ROBOT}?` });
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole("button", { name: "Make a new secret" }).click();
    const shown = page.getByRole("dialog", { name: `Secret of ${ROBOT}` });
    const fresh = await shown.getByRole("textbox", { name: "Secret" }).inputValue();
    expect(fresh).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(fresh).not.toBe(secret);
    await shown.getByRole("button", { name: "I have copied it" }).click();
    await shown.waitFor({ state: "hidden" });
    expect(await page.content()).not.toContain(fresh);

    const old = await skopeo.login({ username: ROBOT, password: secret });
    expect(old.status).not.toBe(0);
    const renewed = await skopeo.login({ username: ROBOT, password: fresh });
    expect(renewed.status, renewed.output).toBe(0);
    const pushed = await skopeo.push(`${PROJECT}/app:2.0`);
    expect(pushed.status, pushed.output).toBe(0);
    secret = fresh;
  });

  it("keeps robots out of the portal's sign-in", async () => {
    const page = await portal.newPage();
    await page.goto("/");
    await page.getByLabel("Username").fill(ROBOT);
    await page.getByLabel("Password").fill(secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("robot accounts cannot sign in");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Sign in");
  });

  it("disables, enables and deletes a robot, a disabled one refused by the registry", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await robotsPage(page);
    const row = page.getByRole("row", { name: new RegExp(ROBOT.replace(/[$+]/g, "\\$&")) });
    await page.getByRole("button", { name: `Disable for ${ROBOT}` }).click();
    await row.getByText("Disabled", { exact: true }).waitFor();
    expect((await skopeo.login({ username: ROBOT, password: secret })).status).not.toBe(0);
    await page.getByRole("button", { name: `Enable for ${ROBOT}` }).click();
    await row.getByText("Enabled", { exact: true }).waitFor();
    expect((await skopeo.login({ username: ROBOT, password: secret })).status).toBe(0);

    await page.getByRole("button", { name: `Delete for ${ROBOT}` }).click();
    const confirm = page.getByRole("dialog", { name: `Delete ${ROBOT}?` });
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole("button", { name: "Delete" }).click();
    await page.getByText("This project has no robot accounts yet.").waitFor();
    expect((await skopeo.login({ username: ROBOT, password: secret })).status).not.toBe(0);
  });

  it("shows a guest the project's robots, read only, as Harbor lets every role but the limited guest", async () => {
    const made = await api(portal, "POST", "/robots", {
      name: "reader",
      level: "project",
      duration: -1,
      permissions: [{ kind: "project", namespace: PROJECT, access: [{ resource: "repository", action: "pull" }] }],
    });
    expect(made.status).toBe(201);
    const page = await portal.newPage();
    await signIn(page, GUEST);
    await robotsPage(page);
    const row = page.getByRole("row", { name: new RegExp(`robot\\$${PROJECT}\\+reader`) });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain("Repository: pull");
    await expect(page.getByRole("button", { name: "New robot account" }).count()).resolves.toBe(0);
    await expect(row.getByRole("button").count()).resolves.toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    // The project as the next step expects it: without robots.
    expect((await api(portal, "DELETE", `/robots/${(made.json as { id: number }).id}`)).status).toBe(200);
  });

  it("speaks French, and reflows at 200% zoom with the form open", async () => {
    const page = await portal.newPage({ locale: "fr-FR", viewport: { width: 640, height: 400 } });
    await signIn(page);
    await robotsPage(page);
    await page.getByText("Ce projet n'a pas encore de compte robot.").waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Nouveau compte robot" }).click();
    const form = page.getByRole("dialog", { name: "Nouveau compte robot" });
    await form.getByRole("checkbox", { name: "Dépôt : Pousser" }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
