// The projects list and a project's summary and logs in a real browser (Debian's Chromium):
// creating a project through the dialog (and the server's refusal of a bad name on its field),
// the summary's figures after a push with a real client (skopeo), its settings, the refusal to
// delete a project that holds repositories, the push in the project's log; the accessibility
// engine on each page, 200% zoom, French, and nothing fetched from anywhere but the registry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  accessibilityViolations,
  focusedId,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";
import { call, createProject, skopeoPush } from "./portal-project-fixture.ts";

const MiB = 1024 * 1024;

describe("the projects list and a project's summary", () => {
  let portal: PortalHarness;
  let figuresId: number;

  beforeAll(async () => {
    portal = await startPortal();
    figuresId = await createProject(portal, "figures");
    await skopeoPush(portal, "figures/app", "1.0");
  }, 60_000);
  afterAll(() => portal.close());

  it("creates a project through the dialog, showing the server's refusal of a bad name on the field", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("row", { name: /figures/ }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "New project" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a project" });
    await dialog.waitFor();
    const name = dialog.getByLabel("Project name");
    await expect(name.getAttribute("aria-describedby")).resolves.toBeTruthy();
    expect(await accessibilityViolations(page)).toEqual([]);

    await name.fill("Bad_Name");
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.locator(".field-error").waitFor();
    // The server's own words, tied to the field, which has the focus again so they are read out.
    const message = await dialog.locator(".field-error").textContent();
    expect(message).toContain("invalid project_name");
    await expect(name.getAttribute("aria-invalid")).resolves.toBe("true");
    const describedBy = (await name.getAttribute("aria-describedby")) ?? "";
    const errorId = await dialog.locator(".field-error").getAttribute("id");
    expect(describedBy.split(" ")).toContain(errorId);
    await expect(focusedId(page)).resolves.toBe(await name.getAttribute("id"));
    expect(await accessibilityViolations(page)).toEqual([]);

    await name.fill("web-app");
    await dialog.getByLabel(/^Public/).check();
    await dialog.getByLabel("Storage quota", { exact: true }).fill("2");
    await dialog.getByLabel("Unit of the storage quota").selectOption("GiB");
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { level: 1, name: "web-app" }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/projects\/\d+$/);
    const facts = page.getByRole("definition");
    await expect(facts.nth(1).textContent()).resolves.toBe("Public");
    await page.getByText("0 B of 2 GiB").waitFor();

    // Back on the list: the new project with its quota, one row among the others.
    await page.getByRole("link", { name: "Projects", exact: true }).click();
    const row = page.getByRole("row", { name: /web-app/ });
    await row.waitFor();
    await expect(row.getByRole("meter").getAttribute("max")).resolves.toBe(String(2 * 1024 * MiB));
  });

  it("creates a proxy-cache project on an endpoint chosen from the registry's endpoints", async () => {
    // An endpoint on loopback that nothing answers: creating the project does not reach it.
    const endpoint = await call(portal, "POST", "/api/v2.0/registries", {
      json: { name: "upstream-hub", type: "docker-registry", url: "https://127.0.0.1:9" },
    });
    expect(endpoint.status).toBe(201);
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("button", { name: "New project" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a project" });
    await dialog.getByLabel("Project name").fill("hub-cache");
    await dialog.getByLabel(/^Proxy cache/).check();
    const select = dialog.getByLabel("Endpoint");
    await expect(select.locator("option").allTextContents()).resolves.toEqual(["upstream-hub (https://127.0.0.1:9)"]);
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { level: 1, name: "hub-cache" }).waitFor();
    // The endpoint's name comes in its own request, after the project's.
    await expect
      .poll(() => page.locator('dl.facts dt:text-is("Type") + dd').textContent(), { timeout: 5_000 })
      .toBe("Proxy cache of upstream-hub");
  });

  it("shows the summary's figures after a push, and lets the administrator change and try to delete", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.goto(`/projects/${figuresId}`);
    await page.getByRole("heading", { level: 1, name: "figures" }).waitFor();
    const facts = page.locator("dl.facts");
    await facts.getByText("Members").waitFor();
    const value = (term: string) => facts.locator(`dt:text-is("${term}") + dd`).textContent();
    await expect(value("Type")).resolves.toBe("Hosted");
    await expect(value("Access")).resolves.toBe("Private");
    await expect(value("Repositories")).resolves.toBe("1");
    await expect(value("Members")).resolves.toBe("1");
    await expect(value("Storage used")).resolves.toMatch(/^[\d.,]+ (B|KiB) \(no limit\)$/);
    await expect(value("Declared by")).resolves.toContain("No stack");
    expect(await accessibilityViolations(page)).toEqual([]);

    // A quota: the meter appears with its limit; access turned public.
    await page.getByLabel("Storage quota", { exact: true }).fill("5");
    await page.getByLabel("Unit of the storage quota").selectOption("MiB");
    await page.getByRole("button", { name: "Save quota" }).click();
    await page.getByText("Quota saved.").waitFor();
    // The summary reloads after the save: wait for its new figures.
    await expect.poll(() => value("Storage used"), { timeout: 5_000 }).toMatch(/ of 5 MiB$/);
    await expect(facts.getByRole("meter").getAttribute("max")).resolves.toBe(String(5 * MiB));
    await page.getByLabel(/^Public/).check();
    await page.getByRole("button", { name: "Save access" }).click();
    await page.getByText("Access saved.").waitFor();
    await expect.poll(() => value("Access"), { timeout: 5_000 }).toBe("Public");

    // Harbor refuses to delete a project that still holds repositories: its message is shown.
    await page.getByRole("button", { name: "Delete project" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete the project figures?" });
    await confirm.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole("button", { name: "Delete project" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("still has repositories");
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("shows the push in the project's log, filtered by operation and user", async () => {
    const page = await portal.newPage();
    await signIn(page);
    // The audit log is written once a second: reload until the entry is there (bounded).
    const deadline = Date.now() + 10_000;
    await page.goto(`/projects/${figuresId}/logs`);
    const table = page.getByRole("table", { name: "Logs" });
    while (
      !(await table
        .getByText("figures/app", { exact: false })
        .first()
        .isVisible()
        .catch(() => false))
    ) {
      if (Date.now() > deadline) throw new Error("the push never reached the project's log");
      await page.waitForTimeout(300);
      await page.reload();
      await page.getByRole("heading", { level: 2, name: "Logs" }).waitFor();
    }
    const push = table.getByRole("row").filter({ hasText: "figures/app" }).first();
    await expect(push.textContent()).resolves.toMatch(/admin.*Create.*artifact.*Succeeded/);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByLabel("Operation").selectOption("pull");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No entry matches.").waitFor();
    expect(new URL(page.url()).searchParams.get("operation")).toBe("pull");
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByLabel("Operation").selectOption("create");
    await page.getByLabel("User").fill("admin");
    await page.getByRole("button", { name: "Filter" }).click();
    await table.getByText("figures/app", { exact: false }).first().waitFor();
    await page.getByLabel("User").fill("nobody");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No entry matches.").waitFor();
  });

  it("speaks French and reflows at 200% zoom (640 pixels wide) on the summary", async () => {
    const page = await portal.newPage({ locale: "fr-FR", viewport: { width: 640, height: 400 } });
    await signIn(page);
    await page.goto(`/projects/${figuresId}`);
    await page.getByRole("heading", { level: 2, name: "Résumé" }).waitFor();
    const facts = page.locator("dl.facts");
    await facts.getByText("Membres").waitFor();
    await expect(facts.locator('dt:text-is("Dépôts") + dd').textContent()).resolves.toBe("1");
    await page.getByRole("button", { name: "Supprimer le projet" }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.goto("/projects");
    await page.getByRole("button", { name: "Nouveau projet" }).waitFor();
    expect(await overflowsHorizontally(page)).toBe(false);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
