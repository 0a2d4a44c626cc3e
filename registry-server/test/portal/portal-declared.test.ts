// Declared state in a real browser (issue 15, item 4): a project, a robot and an endpoint
// declared as the Pulumi providers declare them (PUT /api/v2.0/declarations/{kind}/{key}, the
// stack's name and the resource's URN); the project list marks the declared project, its page
// names the stack and the URN, and every change to a declared object first asks, naming the
// stack and `pulumi refresh`: Cancel leaves the object as it was (read back through the API),
// confirming changes it; an undeclared project's change asks nothing. The accessibility engine
// on the pages and on the open dialog; the dialog in French; nothing asked of another origin.

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessibilityViolations, signIn, startPortal, type PortalHarness } from "./portal-browser.ts";
import { api, createProject } from "./portal-robots-fixture.ts";

const STACK = "acme/airlock/dmz";
const URN = {
  project: "urn:pulumi:dmz::airlock::airlock:registry:Project::production",
  robot: "urn:pulumi:dmz::airlock::airlock:registry:RobotAccount::deployer",
  registry: "urn:pulumi:dmz::airlock::airlock:registry:RegistryEndpoint::dmz-hub",
};
const ROBOT = "robot$production+deployer";
const ENDPOINT = "dmz-hub";
const DECLARED = `Declared by the Pulumi stack ${STACK}`;
const GUARD_TITLE = "Change an object a stack declares?";

describe("objects a Pulumi stack declared", () => {
  let portal: PortalHarness;
  let productionId = 0;
  let sandboxId = 0;
  let robotId = 0;
  let endpointId = 0;

  async function declare(kind: string, key: string, resource: string): Promise<void> {
    const reply = await api(portal, "PUT", `/declarations/${kind}/${encodeURIComponent(key)}`, {
      stack: STACK,
      resource,
    });
    if (reply.status !== 201) throw new Error(`declaring ${kind} ${key}: ${reply.status} ${reply.body}`);
  }

  async function isPublic(project: string): Promise<string> {
    const reply = await api(portal, "GET", `/projects/${project}`);
    return String((reply.json as { metadata?: { public?: string } }).metadata?.public);
  }

  async function robotState(): Promise<{ status: number; disable?: boolean }> {
    const reply = await api(portal, "GET", `/robots/${robotId}`);
    return { status: reply.status, disable: (reply.json as { disable?: boolean } | undefined)?.disable };
  }

  async function signedIn(locale?: string): Promise<Page> {
    const page = await portal.newPage(locale ? { locale } : {});
    await signIn(page);
    return page;
  }

  /** The guard's dialog, checked for what it says before the test answers it. */
  async function guardDialog(page: Page) {
    const dialog = page.getByRole("dialog", { name: GUARD_TITLE });
    await dialog.waitFor();
    await dialog.getByText(DECLARED, { exact: true }).waitFor();
    await expect(dialog.textContent()).resolves.toContain("`pulumi refresh` of acme/airlock/dmz");
    return dialog;
  }

  beforeAll(async () => {
    portal = await startPortal();
    productionId = await createProject(portal, "production");
    sandboxId = await createProject(portal, "sandbox");
    const robot = await api(portal, "POST", "/robots", {
      name: "deployer",
      level: "project",
      duration: -1,
      disable: false,
      permissions: [{ kind: "project", namespace: "production", access: [{ resource: "repository", action: "pull" }] }],
    });
    if (robot.status !== 201) throw new Error(`robot: ${robot.status} ${robot.body}`);
    robotId = (robot.json as { id: number }).id;
    expect((robot.json as { name: string }).name).toBe(ROBOT);
    // An endpoint on a loopback port nothing listens on: declared, never reached.
    const endpoint = await api(portal, "POST", "/registries", {
      name: ENDPOINT,
      type: "docker-registry",
      url: "https://127.0.0.1:9",
      insecure: false,
    });
    if (endpoint.status !== 201) throw new Error(`endpoint: ${endpoint.status} ${endpoint.body}`);
    endpointId = Number(String(endpoint.headers["location"]).split("/").pop());
    await declare("project", "production", URN.project);
    await declare("robot", ROBOT, URN.robot);
    await declare("registry", ENDPOINT, URN.registry);
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
  });

  it("marks the declared project in the list and names the stack and the URN on its page", async () => {
    const page = await signedIn();
    const list = page.getByRole("table", { name: "Projects" });
    const production = list.getByRole("row", { name: /production/ });
    await production.getByText(DECLARED, { exact: true }).waitFor();
    await expect(production.getByText(DECLARED).getAttribute("title")).resolves.toBe(URN.project);
    await expect(list.getByRole("row", { name: /sandbox/ }).textContent()).resolves.not.toContain("Declared by");
    expect(await accessibilityViolations(page)).toEqual([]);

    await list.getByRole("link", { name: "production", exact: true }).click();
    const banner = page.getByRole("complementary", { name: DECLARED });
    await banner.getByText(URN.project, { exact: true }).waitFor();
    await expect(banner.textContent()).resolves.toContain("pulumi refresh");
    // The summary fetches its own copy of the declaration, after the banner's.
    await expect
      .poll(() => page.locator('dl.facts dt:text-is("Declared by") + dd').textContent(), { timeout: 5_000 })
      .toBe(STACK);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("asks before changing a declared project's access: Cancel leaves it, confirming changes it", async () => {
    const page = await signedIn();
    await page.goto(`/projects/${productionId}`);
    await page.getByRole("complementary", { name: DECLARED }).waitFor();
    // The summary's own copy of the declaration, which its guard reads, has arrived.
    await page.locator('dl.facts dt:text-is("Declared by") + dd').getByText(STACK).waitFor();
    await page.getByLabel(/^Public/).check();
    await page.getByRole("button", { name: "Save access" }).click();
    const dialog = await guardDialog(page);
    await dialog.getByText(URN.project, { exact: true }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect(page.getByRole("status").filter({ hasText: "Access saved." }).count()).resolves.toBe(0);
    expect(await isPublic("production")).toBe("false");

    await page.getByRole("button", { name: "Save access" }).click();
    await (await guardDialog(page)).getByRole("button", { name: "Change it anyway" }).click();
    await page.getByRole("status").filter({ hasText: "Access saved." }).waitFor();
    expect(await isPublic("production")).toBe("true");
    // The project is fetched again once saved.
    await expect
      .poll(() => page.locator('dl.facts dt:text-is("Access") + dd').textContent(), { timeout: 5_000 })
      .toBe("Public");
  });

  it("asks before disabling or deleting a declared robot", async () => {
    const page = await signedIn();
    await page.goto(`/projects/${productionId}/robots`);
    const row = page.getByRole("row", { name: new RegExp(ROBOT.replace(/[$+]/g, "\\$&")) });
    await row.getByText(DECLARED, { exact: true }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: `Disable for ${ROBOT}` }).click();
    let dialog = await guardDialog(page);
    await dialog.getByText(URN.robot, { exact: true }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await robotState()).toEqual({ status: 200, disable: false });

    // Deleting asks twice: the deletion's own confirmation, then the stack's warning.
    await page.getByRole("button", { name: `Delete for ${ROBOT}` }).click();
    await page
      .getByRole("dialog", { name: `Delete ${ROBOT}?` })
      .getByRole("button", { name: "Delete" })
      .click();
    dialog = await guardDialog(page);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await robotState()).toEqual({ status: 200, disable: false });

    await page.getByRole("button", { name: `Disable for ${ROBOT}` }).click();
    await (await guardDialog(page)).getByRole("button", { name: "Change it anyway" }).click();
    await row.getByText("Disabled", { exact: true }).waitFor();
    expect(await robotState()).toEqual({ status: 200, disable: true });
  });

  it("marks the declared endpoint and asks before editing or deleting it", async () => {
    const page = await signedIn();
    await page.goto("/registries");
    const row = page.getByRole("row", { name: new RegExp(ENDPOINT) });
    await row.getByText(DECLARED, { exact: true }).waitFor();
    await row.getByRole("link", { name: ENDPOINT }).click();
    await page.getByRole("complementary", { name: DECLARED }).getByText(URN.registry).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = await guardDialog(page);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect(page.getByRole("dialog", { name: `Delete endpoint ${ENDPOINT}?` }).count()).resolves.toBe(0);
    expect((await api(portal, "GET", `/registries/${endpointId}`)).status).toBe(200);

    await page.getByRole("button", { name: "Edit", exact: true }).click();
    await (await guardDialog(page)).getByRole("button", { name: "Change it anyway" }).click();
    await page.getByRole("dialog", { name: `Edit endpoint ${ENDPOINT}` }).waitFor();
  });

  it("changes an undeclared project's access without asking", async () => {
    const page = await signedIn();
    await page.goto(`/projects/${sandboxId}`);
    await page.locator('dl.facts dt:text-is("Declared by") + dd').getByText("No stack").waitFor();
    await expect(page.getByRole("complementary", { name: /Declared by/ }).count()).resolves.toBe(0);
    await page.getByLabel(/^Public/).check();
    await page.getByRole("button", { name: "Save access" }).click();
    await page.getByRole("status").filter({ hasText: "Access saved." }).waitFor();
    await expect(page.getByRole("dialog").count()).resolves.toBe(0);
    expect(await isPublic("sandbox")).toBe("true");
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("warns in French", async () => {
    const page = await signedIn("fr-FR");
    await page.goto(`/projects/${productionId}`);
    const declared = `Déclaré par la pile Pulumi ${STACK}`;
    await page.getByRole("complementary", { name: declared }).waitFor();
    await page.locator('dl.facts dt:text-is("Déclaré par") + dd').getByText(STACK).waitFor();
    await page.getByLabel(/^Public/).uncheck();
    await page.getByRole("button", { name: "Enregistrer l'accès" }).click();
    const dialog = page.getByRole("dialog", { name: "Modifier un objet déclaré par une pile ?" });
    await dialog.getByText(declared, { exact: true }).waitFor();
    await expect(dialog.textContent()).resolves.toContain(
      "apparaîtra comme une dérive au prochain `pulumi refresh` de acme/airlock/dmz",
    );
    await dialog.getByRole("button", { name: "Modifier quand même" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Annuler" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await isPublic("production")).toBe("true");
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
