// A project's repositories and members in a real browser: 30 repositories paged and searched,
// one deleted; a user added as a member, their role changed, and what that member then sees in
// a browser of their own (no controls their role cannot use), until their removal makes the API
// refuse them the project, with its message shown. The accessibility engine on every state.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessibilityViolations, signIn, startPortal, type PortalHarness } from "./portal-browser.ts";
import { createProject, createUser, pushTinyImage } from "./portal-project-fixture.ts";

const MEMBER = { username: "dana", password: "Dana-password-1" };
const REPOSITORIES = 30;

describe("a project's repositories and members", () => {
  let portal: PortalHarness;
  let manyId: number;
  let emptyId: number;

  beforeAll(async () => {
    portal = await startPortal();
    manyId = await createProject(portal, "many");
    emptyId = await createProject(portal, "empty");
    await createUser(portal, MEMBER.username, MEMBER.password);
    const names = Array.from({ length: REPOSITORIES }, (_, i) => `many/repo-${String(i).padStart(2, "0")}`);
    // Five at a time: quick, without queueing thirty uploads on the shared cores at once.
    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(names.slice(i, i + 5).map((name) => pushTinyImage(portal, name, "1")));
    }
  }, 60_000);
  afterAll(() => portal.close());

  it("lists the repositories a page at a time, searches them and deletes one", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.goto(`/projects/${manyId}/repositories`);
    const table = page.getByRole("table", { name: "Repositories" });
    await table.waitFor();
    await page.getByText(`${REPOSITORIES} in all`).waitFor();
    await expect(table.locator("tbody tr").count()).resolves.toBe(25);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2 of 2").waitFor();
    expect(new URL(page.url()).searchParams.get("page")).toBe("2");
    await expect(table.locator("tbody tr").count()).resolves.toBe(REPOSITORIES - 25);
    // Harbor's default order puts the newest first: page 2 holds the first pushed.
    await table.getByRole("link", { name: "many/repo-00" }).waitFor();

    await page.getByLabel("Search repositories by name").fill("repo-07");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("1 in all").waitFor();
    const link = table.getByRole("link", { name: "many/repo-07" });
    await expect(link.getAttribute("href")).resolves.toBe(`/projects/${manyId}/repositories/many%2Frepo-07`);
    const row = table.getByRole("row", { name: /many\/repo-07/ });
    await expect(row.textContent()).resolves.toMatch(/many\/repo-07\s*1\s*0/);

    await page.getByRole("button", { name: "Delete many/repo-07" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete the repository many/repo-07?" });
    await confirm.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole("button", { name: "Delete" }).click();
    await page.getByText("Nothing to show yet.").waitFor();
    await page.getByLabel("Search repositories by name").fill("");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(`${REPOSITORIES - 1} in all`).waitFor();

    await page.goto(`/projects/${emptyId}/repositories`);
    await page.getByText("No repository yet: push an image to this project.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("adds a member, changes their role, and shows that member only what the role allows", async () => {
    const admin = await portal.newPage();
    await signIn(admin);
    await admin.goto(`/projects/${manyId}/members`);
    const table = admin.getByRole("table", { name: "Members" });
    await table.getByRole("row", { name: /admin/ }).waitFor();
    expect(await accessibilityViolations(admin)).toEqual([]);

    // An unknown user: the API's refusal on the field.
    await admin.getByRole("button", { name: "Add a member" }).click();
    const add = admin.getByRole("dialog", { name: "Add a user to many" });
    await add.getByLabel("Username").fill("nobody-here");
    await add.getByRole("button", { name: "Add a member" }).click();
    await expect(add.locator(".field-error").textContent()).resolves.toBe("user not found");
    expect(await accessibilityViolations(admin)).toEqual([]);
    await add.getByLabel("Username").fill(MEMBER.username);
    await add.getByLabel("Role").selectOption({ label: "Developer" });
    await add.getByRole("button", { name: "Add a member" }).click();
    const row = table.getByRole("row", { name: new RegExp(MEMBER.username) });
    await expect(row.getByRole("cell").nth(2).textContent()).resolves.toBe("Developer");

    await admin.getByRole("button", { name: `Change the role of ${MEMBER.username}` }).click();
    const roleDialog = admin.getByRole("dialog", { name: `The role of ${MEMBER.username}` });
    await expect(roleDialog.getByLabel("Role").locator("option").allTextContents()).resolves.toEqual([
      "Project Admin",
      "Maintainer",
      "Developer",
      "Guest",
      "Limited Guest",
    ]);
    expect(await accessibilityViolations(admin)).toEqual([]);
    await roleDialog.getByLabel("Role").selectOption({ label: "Guest" });
    await roleDialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => row.getByRole("cell").nth(2).textContent(), { timeout: 5_000 }).toBe("Guest");

    // The member, in a browser of their own: the project, without the controls a guest cannot use.
    const member = await portal.newPage();
    await signIn(member, MEMBER);
    await member.getByRole("link", { name: "many", exact: true }).waitFor();
    await expect(member.getByRole("button", { name: "New project" }).isVisible()).resolves.toBe(true);
    await member.goto(`/projects/${manyId}`);
    // The count comes with the project's summary, after the facts: "—" until then.
    await expect
      .poll(() => member.locator('dl.facts dt:text-is("Members") + dd').textContent(), { timeout: 5_000 })
      .toBe("2");
    await expect(member.getByRole("button", { name: "Delete project" }).count()).resolves.toBe(0);
    await expect(member.getByRole("button", { name: "Save access" }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(member)).toEqual([]);
    await member.goto(`/projects/${manyId}/repositories`);
    await member.getByText(`${REPOSITORIES - 1} in all`).waitFor();
    await expect(member.getByRole("button", { name: /^Delete / }).count()).resolves.toBe(0);
    await member.goto(`/projects/${manyId}/members`);
    await member.getByRole("table", { name: "Members" }).getByRole("row", { name: /admin/ }).waitFor();
    await expect(member.getByRole("button", { name: "Add a member" }).count()).resolves.toBe(0);
    await expect(member.getByRole("button", { name: /^Change the role/ }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(member)).toEqual([]);

    // Removed, the member is refused the private project, with the API's message.
    await admin.getByRole("button", { name: `Remove ${MEMBER.username}` }).click();
    const confirm = admin.getByRole("dialog", { name: `Remove ${MEMBER.username} from many?` });
    await confirm.getByRole("button", { name: `Remove ${MEMBER.username}` }).click();
    await expect
      .poll(() => table.getByRole("row", { name: new RegExp(MEMBER.username) }).count(), { timeout: 5_000 })
      .toBe(0);
    await member.reload();
    const alert = member.getByRole("alert");
    await alert.waitFor();
    await expect(alert.textContent()).resolves.toMatch(/You are not allowed to see this\.\s*forbidden/);
    expect(await accessibilityViolations(member)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
