// A project's policies in a real browser: security settings turned on from the page and read
// back through the API; an immutability rule added from the page, then skopeo refused when it
// moves the tag, and the rule disabled and deleted; a retention dry run started from the page,
// its execution, tasks and log. A guest reads the settings without controls and gets the API's
// refusals; the accessibility engine on each state; French; nothing off the origin.

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessibilityViolations, signIn, startPortal, type PortalHarness } from "./portal-browser.ts";
import { api, createMember, createProject, skopeoFor } from "./portal-robots-fixture.ts";
import { ADMIN } from "../helpers.ts";

const PROJECT = "policed";
const GUEST = { username: "onlooker", password: "Onlooker-pass-1" };
const GUEST_ROLE = 3;

describe("a project's policies page", () => {
  let portal: PortalHarness;
  let skopeo: ReturnType<typeof skopeoFor>;
  let projectId: number;
  let retentionId: number;

  beforeAll(async () => {
    portal = await startPortal();
    projectId = await createProject(portal, PROJECT);
    await createMember(portal, PROJECT, GUEST, GUEST_ROLE);
    const created = await api(portal, "POST", "/retentions", {
      algorithm: "or",
      rules: [
        {
          disabled: false,
          action: "retain",
          template: "latestPushedK",
          params: { latestPushedK: 1 },
          tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**" }],
          scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
        },
      ],
      trigger: { kind: "Schedule", settings: { cron: "0 0 3 * * *" } },
      scope: { level: "project", ref: projectId },
    });
    expect(created.status, created.body).toBe(201);
    retentionId = Number(String(created.headers["location"]).split("/").pop());
    skopeo = skopeoFor(portal);
    expect((await skopeo.login(ADMIN)).status).toBe(0);
    const pushed = await skopeo.push(`${PROJECT}/app:1.0`);
    expect(pushed.status, pushed.output).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await portal?.close();
    skopeo?.remove();
  });

  async function policiesPage(page: Page): Promise<void> {
    await page.goto(`/projects/${projectId}/policies`);
    await page.getByRole("heading", { level: 2, name: /^(Tag retention|Rétention des tags)$/ }).waitFor();
  }

  it("turns on the security settings and the CVE allowlist, as the API then shows", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await policiesPage(page);
    await expect(page.title()).resolves.toBe(`Policies · ${PROJECT} · Airlock`);
    await page.getByRole("heading", { level: 2, name: "Security settings" }).waitFor();
    await page.getByRole("heading", { level: 2, name: "Tag immutability rules" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByLabel("Prevent vulnerable images from being pulled").check();
    await page.getByLabel("Refuse images with vulnerabilities of this severity or above").selectOption("high");
    await page.getByLabel("Scan images automatically when they are pushed").check();
    await page.getByLabel("CVE to add").fill("CVE-2024-3094, CVE-2023-44487");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByRole("button", { name: "Remove CVE-2023-44487" }).click();
    await page.getByLabel("The allowlist expires on").fill("2099-12-31");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Settings saved.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    const project = (await api(portal, "GET", `/projects/${projectId}`)).json as {
      metadata: Record<string, string>;
      cve_allowlist: { items: Array<{ cve_id: string }>; expires_at?: number };
    };
    expect(project.metadata).toMatchObject({
      prevent_vul: "true",
      severity: "high",
      auto_scan: "true",
      auto_sbom_generation: "false",
      reuse_sys_cve_allowlist: "false",
    });
    expect(project.cve_allowlist.items).toEqual([{ cve_id: "CVE-2024-3094" }]);
    expect(project.cve_allowlist.expires_at).toBe(Date.UTC(2099, 11, 31) / 1000);

    // A reload shows what was saved.
    await page.reload();
    await policiesPage(page);
    await expect(page.getByLabel("Prevent vulnerable images from being pulled").isChecked()).resolves.toBe(true);
    await expect(
      page.getByLabel("Refuse images with vulnerabilities of this severity or above").inputValue(),
    ).resolves.toBe("high");
  });

  it("adds an immutability rule that skopeo then meets, and disables and deletes it", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await policiesPage(page);
    await page.getByText("No immutability rule: every tag can be moved or deleted.").waitFor();
    // The page refuses an empty pattern before the API sees it.
    await page.getByRole("button", { name: "Add a rule" }).click();
    await page.getByText("A pattern is needed.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByLabel("Tag pattern").fill("1.0");
    await page.getByRole("button", { name: "Add a rule" }).click();
    const rules = page.getByRole("region", { name: "Immutability rules", exact: true });
    await rules.getByText("matching 1.0").waitFor();
    await expect(rules.textContent()).resolves.toContain("matching **");
    expect(await accessibilityViolations(page)).toEqual([]);

    const moved = await skopeo.push(`${PROJECT}/app:1.0`, "second");
    expect(moved.status).not.toBe(0);
    expect(moved.output).toMatch(/immutable/i);
    const other = await skopeo.push(`${PROJECT}/app:1.1`, "second");
    expect(other.status, other.output).toBe(0);

    const [rule] = (await api(portal, "GET", `/projects/${projectId}/immutabletagrules`)).json as Array<{
      id: number;
    }>;
    await page.getByRole("button", { name: `Disable rule ${rule?.id}` }).click();
    await rules.getByText("Disabled", { exact: true }).waitFor();
    const listed = (await api(portal, "GET", `/projects/${projectId}/immutabletagrules`)).json;
    expect(listed).toMatchObject([{ id: rule?.id, disabled: true }]);
    await page.getByRole("button", { name: `Delete rule ${rule?.id}` }).click();
    const confirm = page.getByRole("dialog", { name: `Delete immutability rule ${rule?.id}?` });
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole("button", { name: "Delete" }).click();
    await page.getByText("No immutability rule: every tag can be moved or deleted.").waitFor();
  });

  it("starts a retention dry run and shows its execution, tasks and log", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await policiesPage(page);
    await page
      .getByText("In repositories matching **, tags matching **: keep the 1 most recently pushed artifacts.")
      .waitFor();
    await page.getByText("0 0 3 * * *").waitFor();
    await page.getByText("No execution yet.").waitFor();
    await page.getByRole("button", { name: "Dry run" }).click();
    await page
      .getByRole("status")
      .getByText(/^Execution \d+ started\.$/)
      .waitFor();
    const [execution] = (await api(portal, "GET", `/retentions/${retentionId}/executions`)).json as Array<{
      id: number;
      dry_run: boolean;
    }>;
    expect(execution?.dry_run).toBe(true);
    const executions = page.getByRole("region", { name: "Executions" });
    // The list refreshes itself until the run ends.
    await executions.getByText("Success", { exact: true }).waitFor({ timeout: 30_000 });
    await expect(executions.textContent()).resolves.toContain("Dry run");
    await expect(executions.textContent()).resolves.toContain("MANUAL");

    await page.getByRole("button", { name: `Show tasks of execution ${execution?.id}` }).click();
    const tasks = page.getByRole("region", { name: `Tasks of execution ${execution?.id}` });
    // Harbor names a task by the repository within the project.
    await tasks.getByText("app", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Log of app" }).click();
    const log = page.locator("pre.policy-log");
    await log.waitFor();
    const text = (await log.textContent()) ?? "";
    expect(text).toContain("Retention");
    expect(text).toContain("DEL (dry run)");
    expect(text).toContain("RETAIN");
    expect(await accessibilityViolations(page)).toEqual([]);
    // A dry run removes nothing.
    const tags = await api(portal, "GET", `/projects/${PROJECT}/repositories/app/artifacts?page_size=10`);
    expect((tags.json as unknown[]).length).toBe(2);
  });

  it("shows a guest the settings without controls and the API's refusals, in French", async () => {
    const page = await portal.newPage({ locale: "fr-FR" });
    await signIn(page, GUEST);
    await policiesPage(page);
    await page.getByRole("heading", { level: 2, name: "Paramètres de sécurité" }).waitFor();
    await page.getByText("Seuls les administrateurs du projet modifient ces paramètres.").waitFor();
    await expect(page.getByLabel("Empêcher de tirer les images vulnérables").isDisabled()).resolves.toBe(true);
    await expect(page.getByLabel("Empêcher de tirer les images vulnérables").isChecked()).resolves.toBe(true);
    await expect(page.getByRole("button", { name: "Enregistrer" }).count()).resolves.toBe(0);
    await expect(page.getByRole("button", { name: "Ajouter une règle" }).count()).resolves.toBe(0);
    await expect(page.getByRole("button", { name: "Simulation" }).count()).resolves.toBe(0);
    // Immutability rules and retention are for maintainers and above: the API refuses a guest.
    await expect(page.getByRole("alert").count()).resolves.toBe(2);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
