// Issue 15's story end to end, in one browser (Debian's Chromium) against one registry: the
// administrator signs in, creates a project through its dialog and a user through the Users page,
// and makes that user a Guest of the project from the Members page; skopeo pushes a two-platform
// index, which the portal lists with both platforms; a robot made on the Robots page, its secret
// shown once and copied through the clipboard, logs in with skopeo and pushes; the Guest, in a
// browser context of their own, sees the project and the artifact without the controls a guest
// cannot use, reads the robots without their controls, is refused a push by the registry and a
// page by the API; and the administrator
// reads the pushes (their own and the robot's) and the Guest's pull in the project's log and the
// audit log. The accessibility engine on every page of the story; nothing asked of another origin.
//
// The steps share the registry and the administrator's page, and run in order.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeMultiPlatformLayout, type LayoutImage } from "../clients/oci-layout.ts";
import { ADMIN, tempDir } from "../helpers.ts";
import { accessibilityViolations, signIn, startPortal, type PortalHarness } from "./portal-browser.ts";
import { api } from "./portal-robots-fixture.ts";

const PROJECT = "journey";
const REPOSITORY = `${PROJECT}/app`;
const GUEST = { username: "gail", password: "Gail-password-1" };
const ROBOT = `robot$${PROJECT}+ci`;
const COMMAND_TIMEOUT_MS = 60_000;

interface Run {
  readonly status: number | null;
  readonly output: string;
}

/** skopeo with the registry's CA and an auth file of the test's own (one login at a time). */
function skopeoClient(portal: PortalHarness) {
  const work = tempDir("portal-journey");
  const certDir = path.join(work.dir, "certs");
  mkdirSync(certDir);
  writeFileSync(path.join(certDir, "ca.crt"), portal.ca);
  const host = new URL(portal.url).host;
  const env = { PATH: process.env["PATH"], HOME: work.dir, REGISTRY_AUTH_FILE: path.join(work.dir, "auth.json") };
  const run = (args: string[], input = ""): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn("skopeo", args, { env, stdio: ["pipe", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, output }));
      child.stdin.end(input);
    });
  return {
    host,
    dir: work.dir,
    remove: work.remove,
    login: (user: { username: string; password: string }) =>
      run(["login", "--cert-dir", certDir, "--username", user.username, "--password-stdin", host], user.password),
    /** `skopeo copy --all` of an OCI layout's `tag` to `destination` (repository:tag). */
    push: (layout: string, tag: string, destination: string) =>
      run(["copy", "--all", "--dest-cert-dir", certDir, `oci:${layout}:${tag}`, `docker://${host}/${destination}`]),
    /** `skopeo copy --all` of `source` (repository:tag) into an OCI layout at `layout`. */
    pull: (source: string, layout: string) =>
      run(["copy", "--all", "--src-cert-dir", certDir, `docker://${host}/${source}`, `oci:${layout}:pulled`]),
  };
}

/** Whether the page shows `text` anywhere: in its markup or as a field's value (a property). */
function pageHolds(page: Page, text: string): Promise<boolean> {
  const wanted = JSON.stringify(text);
  return page.evaluate<boolean>(
    `document.documentElement.outerHTML.includes(${wanted}) || ` +
      `[...document.querySelectorAll("input, textarea")].some((field) => field.value.includes(${wanted}))`,
  );
}

describe("the portal's story: a project, a guest, a pushed image, a robot, the audit log", () => {
  let portal: PortalHarness;
  let skopeo: ReturnType<typeof skopeoClient>;
  let admin: Page;
  let guest: Page;
  let image: LayoutImage;
  let single: LayoutImage;
  let projectId = 0;
  let secret = "";

  beforeAll(async () => {
    portal = await startPortal();
    skopeo = skopeoClient(portal);
    image = writeMultiPlatformLayout(path.join(skopeo.dir, "index"), "1.0");
    single = writeMultiPlatformLayout(path.join(skopeo.dir, "single"), "2.0", ["amd64"]);
    admin = await portal.newPage();
    await admin.context().grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: new URL(portal.url).origin,
    });
  }, 60_000);
  afterAll(async () => {
    await portal?.close();
    skopeo?.remove();
  });

  const short = (digest: string) => digest.slice(0, 19);
  const artifactsUrl = () => `/projects/${projectId}/repositories/${encodeURIComponent(REPOSITORY)}`;
  const robotRow = (page: Page) => page.getByRole("row", { name: new RegExp(ROBOT.replace(/[$+]/g, "\\$&")) });

  it("signs the administrator in, who creates a project through the dialog", async () => {
    await signIn(admin);
    expect(await accessibilityViolations(admin)).toEqual([]);
    await admin.getByRole("button", { name: "New project" }).click();
    const dialog = admin.getByRole("dialog", { name: "Create a project" });
    await dialog.getByLabel("Project name").fill(PROJECT);
    expect(await accessibilityViolations(admin)).toEqual([]);
    await dialog.getByRole("button", { name: "Create" }).click();
    // The portal opens the new project.
    await admin.getByRole("heading", { level: 1, name: PROJECT }).waitFor();
    projectId = Number(/\/projects\/(\d+)$/.exec(new URL(admin.url()).pathname)?.[1]);
    expect(projectId).toBeGreaterThan(0);
    await expect(admin.locator('dl.facts dt:text-is("Access") + dd').textContent()).resolves.toBe("Private");
    expect(await accessibilityViolations(admin)).toEqual([]);
  });

  it("creates a local user on the Users page and makes them a Guest from the Members page", async () => {
    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await admin.getByRole("heading", { level: 1, name: "Users" }).waitFor();
    await admin.getByRole("button", { name: "New user" }).click();
    const form = admin.getByRole("dialog", { name: "New user" });
    await form.getByLabel("Username").fill(GUEST.username);
    await form.getByLabel("Email").fill(`${GUEST.username}@example.test`);
    await form.getByLabel("Password", { exact: true }).fill(GUEST.password);
    await form.getByLabel("Confirm the password").fill(GUEST.password);
    await form.getByRole("button", { name: "Create" }).click();
    await admin
      .getByRole("status")
      .filter({ hasText: `User ${GUEST.username} created.` })
      .waitFor();
    expect(await accessibilityViolations(admin)).toEqual([]);

    await admin.goto(`/projects/${projectId}`);
    await admin.getByRole("navigation", { name: "Project pages" }).getByRole("link", { name: "Members" }).click();
    const members = admin.getByRole("table", { name: "Members" });
    await members.getByRole("row", { name: /admin/ }).waitFor();
    await admin.getByRole("button", { name: "Add a member" }).click();
    const add = admin.getByRole("dialog", { name: `Add a user to ${PROJECT}` });
    await add.getByLabel("Username").fill(GUEST.username);
    await add.getByLabel("Role").selectOption({ label: "Guest" });
    expect(await accessibilityViolations(admin)).toEqual([]);
    await add.getByRole("button", { name: "Add a member" }).click();
    const row = members.getByRole("row", { name: new RegExp(GUEST.username) });
    await expect.poll(() => row.getByRole("cell").nth(2).textContent(), { timeout: 5_000 }).toBe("Guest");
    expect(await accessibilityViolations(admin)).toEqual([]);
  });

  it("lists the index skopeo pushed, with both platforms", async () => {
    const login = await skopeo.login(ADMIN);
    expect(login.status, login.output).toBe(0);
    const pushed = await skopeo.push(path.join(skopeo.dir, "index"), "1.0", `${REPOSITORY}:1.0`);
    expect(pushed.status, pushed.output).toBe(0);

    await admin.getByRole("navigation", { name: "Project pages" }).getByRole("link", { name: "Repositories" }).click();
    const repositories = admin.getByRole("table", { name: "Repositories" });
    await repositories.getByRole("link", { name: REPOSITORY }).waitFor();
    expect(await accessibilityViolations(admin)).toEqual([]);
    await repositories.getByRole("link", { name: REPOSITORY }).click();
    const artifacts = admin.getByRole("region", { name: "Artifacts" });
    const row = artifacts.getByRole("row").filter({ hasText: short(image.indexDigest) });
    await expect(row.textContent()).resolves.toMatch(/1\.0.*linux\/amd64.*linux\/arm64/);
    expect(await accessibilityViolations(admin)).toEqual([]);

    await row.getByRole("link", { name: short(image.indexDigest) }).click();
    const images = admin.getByRole("region", { name: "Images of this index" });
    await expect(images.textContent()).resolves.toMatch(/linux\/amd64.*linux\/arm64/);
    for (const digest of Object.values(image.manifestDigests)) {
      await images.getByRole("link", { name: short(digest) }).waitFor();
    }
    expect(await accessibilityViolations(admin)).toEqual([]);
  });

  it("creates a robot whose secret is shown once, copied, and pushes with skopeo", async () => {
    await admin.goto(`/projects/${projectId}/robots`);
    await admin.getByText("This project has no robot accounts yet.").waitFor();
    expect(await accessibilityViolations(admin)).toEqual([]);
    await admin.getByRole("button", { name: "New robot account" }).click();
    const form = admin.getByRole("dialog", { name: "New robot account" });
    await form.getByLabel("Name", { exact: true }).fill("ci");
    await form.getByRole("checkbox", { name: "Repository: Pull" }).check();
    await form.getByRole("checkbox", { name: "Repository: Push" }).check();
    expect(await accessibilityViolations(admin)).toEqual([]);
    await form.getByRole("button", { name: "Create" }).click();

    const shown = admin.getByRole("dialog", { name: `Secret of ${ROBOT}` });
    await shown.getByText("it will not be shown again").waitFor();
    expect(await accessibilityViolations(admin)).toEqual([]);
    await shown.getByRole("button", { name: "Copy Secret" }).click();
    await shown.getByText("Copied", { exact: true }).waitFor();
    secret = await admin.evaluate<string>("navigator.clipboard.readText()");
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    await expect(shown.getByRole("textbox", { name: "Secret" }).inputValue()).resolves.toBe(secret);
    expect(await pageHolds(admin, secret)).toBe(true);
    await shown.getByRole("button", { name: "I have copied it" }).click();
    await shown.waitFor({ state: "hidden" });
    // Gone from the page once the dialog closed: not in the document, not in a field.
    expect(await pageHolds(admin, secret)).toBe(false);
    expect(await admin.content()).not.toContain(secret);
    await expect(robotRow(admin).textContent()).resolves.toContain("Repository: pull, push");
    expect(await accessibilityViolations(admin)).toEqual([]);

    const login = await skopeo.login({ username: ROBOT, password: secret });
    expect(login.status, login.output).toBe(0);
    const pushed = await skopeo.push(path.join(skopeo.dir, "single"), "2.0", `${REPOSITORY}:2.0`);
    expect(pushed.status, pushed.output).toBe(0);
    await admin.goto(artifactsUrl());
    const row = admin.getByRole("region", { name: "Artifacts" }).getByRole("row").filter({ hasText: "2.0" });
    await expect(row.textContent()).resolves.toContain(short(single.indexDigest));
    expect(await pageHolds(admin, secret)).toBe(false);
  });

  it("shows the Guest the project and the artifact without a guest's forbidden controls", async () => {
    guest = await portal.newPage();
    await signIn(guest, GUEST);
    await guest.getByRole("link", { name: PROJECT, exact: true }).click();
    await guest.getByRole("heading", { level: 1, name: PROJECT }).waitFor();
    await guest.locator('dl.facts dt:text-is("Members") + dd').getByText("2").waitFor();
    await expect(guest.getByRole("button", { name: /^(Delete project|Save access)$/ }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(guest)).toEqual([]);

    await guest.getByRole("navigation", { name: "Project pages" }).getByRole("link", { name: "Repositories" }).click();
    await guest.getByRole("table", { name: "Repositories" }).getByRole("link", { name: REPOSITORY }).click();
    const artifacts = guest.getByRole("region", { name: "Artifacts" });
    const row = artifacts.getByRole("row").filter({ hasText: short(image.indexDigest) });
    await expect(row.textContent()).resolves.toMatch(/linux\/amd64.*linux\/arm64/);
    await expect(guest.getByRole("button", { name: /^(Scan|Delete)/ }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(guest)).toEqual([]);
    await row.getByRole("link", { name: short(image.indexDigest) }).click();
    await guest.getByRole("region", { name: "Tags of this artifact" }).getByText("1.0", { exact: true }).waitFor();
    await expect(guest.getByRole("button", { name: /^(Add tag|Delete|Scan)/ }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(guest)).toEqual([]);
  });

  it("lets the Guest pull, refuses their push in the registry, and shows the API's refusal in the portal", async () => {
    const login = await skopeo.login(GUEST);
    expect(login.status, login.output).toBe(0);
    const pulled = await skopeo.pull(`${REPOSITORY}:1.0`, path.join(skopeo.dir, "pulled"));
    expect(pulled.status, pulled.output).toBe(0);
    const layout = JSON.parse(readFileSync(path.join(skopeo.dir, "pulled", "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    expect(layout.manifests.map((m) => m.digest)).toEqual([image.indexDigest]);

    // Harbor gives a guest pull and nothing more: the registry refuses the push.
    const pushed = await skopeo.push(path.join(skopeo.dir, "single"), "2.0", `${REPOSITORY}:guest`);
    expect(pushed.status).not.toBe(0);
    expect(pushed.output).toMatch(/denied|unauthorized|forbidden/i);
    const tags = await api(portal, "GET", `/projects/${PROJECT}/repositories/app/artifacts/guest`);
    expect(tags.status).toBe(404);

    // The project's robots, which every project role but the limited guest may read, as in
    // Harbor: listed, with none of the controls that manage them.
    await guest
      .getByRole("navigation", { name: "Project pages" })
      .getByRole("link", { name: "Robot accounts" })
      .click();
    await robotRow(guest).waitFor();
    await expect(guest.getByRole("button", { name: "New robot account" }).count()).resolves.toBe(0);
    await expect(robotRow(guest).getByRole("button").count()).resolves.toBe(0);
    expect(await accessibilityViolations(guest)).toEqual([]);
    // A page that needs more than a guest: the API's refusal, shown as it said it.
    await guest.goto("/users");
    await guest.getByRole("alert").filter({ hasText: "You are not allowed to see this." }).waitFor();
    expect(await accessibilityViolations(guest)).toEqual([]);
    // What the page does not offer, the API refuses as well.
    const refused = await api(
      portal,
      "DELETE",
      `/projects/${PROJECT}/repositories/app/artifacts/1.0/tags/1.0`,
      undefined,
      GUEST,
    );
    expect(refused.status).toBe(403);
  });

  it("shows the administrator the pushes and the pull in the project's log and the audit log", async () => {
    await admin.goto(`/projects/${projectId}/logs`);
    const table = admin.getByRole("table", { name: "Logs" });
    // The audit log is written once a second: reload until the pull is there (bounded).
    const deadline = Date.now() + 10_000;
    while (
      !(await table
        .getByRole("cell", { name: GUEST.username, exact: true })
        .first()
        .isVisible()
        .catch(() => false))
    ) {
      if (Date.now() > deadline) throw new Error("the guest's pull never reached the project's log");
      await admin.waitForTimeout(300);
      await admin.reload();
      await admin.getByRole("heading", { level: 2, name: "Logs" }).waitFor();
    }
    const rows = table.getByRole("row");
    await expect(
      rows
        .filter({ hasText: `${REPOSITORY}:1.0` })
        .filter({ hasText: "Create" })
        .first()
        .textContent(),
    ).resolves.toMatch(/admin.*Create.*artifact.*Succeeded/);
    await expect(rows.filter({ hasText: ROBOT }).filter({ hasText: "Create" }).first().textContent()).resolves.toMatch(
      /Create.*artifact.*journey\/app.*Succeeded/,
    );
    await expect(rows.filter({ hasText: GUEST.username }).first().textContent()).resolves.toMatch(
      /Pull.*artifact.*journey\/app.*Succeeded/,
    );
    expect(await accessibilityViolations(admin)).toEqual([]);

    // Filtered by the robot's name, whose `+` must reach the server as a `+`.
    await admin.getByLabel("User").fill(ROBOT);
    await admin.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.filter({ hasText: GUEST.username }).count(), { timeout: 5_000 }).toBe(0);
    await expect(rows.filter({ hasText: ROBOT }).first().textContent()).resolves.toMatch(/Create.*journey\/app:2\.0/);

    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    await admin.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    await admin.getByLabel("Operation").selectOption("pull");
    await admin.getByRole("button", { name: "Apply" }).click();
    await admin.waitForURL(/operation=pull/);
    const log = admin.getByRole("region", { name: "Audit log entries" });
    // The address changes before the filtered page arrives: wait for the unfiltered rows to go.
    await expect.poll(() => log.getByRole("cell", { name: "create", exact: true }).count(), { timeout: 5_000 }).toBe(0);
    const pull = log.getByRole("row").filter({ hasText: GUEST.username }).first();
    await expect(pull.textContent()).resolves.toMatch(/pull.*artifact.*journey\/app/);
    expect(await accessibilityViolations(admin)).toEqual([]);

    await admin.getByLabel("Operation").selectOption("create");
    await admin.getByLabel("User").fill(ROBOT);
    await admin.getByRole("button", { name: "Apply" }).click();
    await admin.waitForURL(/operation=create/);
    await expect(log.getByRole("row").filter({ hasText: ROBOT }).first().textContent()).resolves.toMatch(
      /create.*artifact.*journey\/app/,
    );
    expect(await accessibilityViolations(admin)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
