// Harbor's repository API beyond the listing: GET and PUT of one repository (swagger
// `Repository`; PUT changes the description only), numeric ids shared by the listing and the
// detail and never reused, Harbor's permissions (developers describe, guests read, anonymous
// callers read public projects), and `GET /repositories` across the projects a caller may see.
// Requests are those harbor-cli sends (`repo view`, `repo update`, `repo list`).

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { pushIndex, pushRichImage } from "./artifact-fixture.ts";
import { expectError, HarborClient, projectPermissions, RFC3339, type Credentials } from "./harbor-client.ts";

interface Repository {
  id: number;
  project_id: number;
  name: string;
  description?: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

const DEVELOPER = { username: "dev", password: "Dev-pass-123" };
const GUEST = { username: "guest", password: "Guest-pass-12" };
const LIMITED = { username: "limited", password: "Limited-pass-1" };
const OUTSIDER = { username: "outsider", password: "Outsider-pass-1" };

describe("repository detail API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let teamId: number;
  let openId: number;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    teamId = await api.createProject("team", false);
    openId = await api.createProject("open", true);
    for (const user of [DEVELOPER, GUEST, LIMITED, OUTSIDER]) await api.createUser(user.username, user.password);
    await api.addMember("team", DEVELOPER.username, ROLES.developer);
    await api.addMember("team", GUEST.username, ROLES.guest);
    await api.addMember("team", LIMITED.username, ROLES.limitedGuest);
    await pushRichImage(oci, "team/app", "1.0");
    await pushRichImage(oci, "team/app", "2.0", { seed: "2" });
    // An index of two images: one artifact to Harbor, its children hidden.
    await pushIndex(oci, "team/tools/lint", "multi");
    await pushRichImage(oci, "open/web", "latest");
  });
  afterAll(() => registry.stop());

  async function repository(path: string, auth?: Credentials | null): Promise<Repository> {
    const reply = await api.call("GET", path, auth === undefined ? {} : { auth });
    expect(reply.status, reply.text).toBe(200);
    return reply.json as Repository;
  }

  it("gets one repository in Harbor's shape, by a name encoded twice or once", async () => {
    const app = await repository("/projects/team/repositories/app");
    expect(Object.keys(app).sort()).toEqual([
      "artifact_count",
      "creation_time",
      "id",
      "name",
      "project_id",
      "pull_count",
      "update_time",
    ]);
    expect(app).toMatchObject({ name: "team/app", project_id: teamId, artifact_count: 2, pull_count: 0 });
    expect(Number.isInteger(app.id) && app.id > 0).toBe(true);
    expect(app.creation_time).toMatch(RFC3339);
    expect(app.update_time).toBe(app.creation_time);

    const twice = await repository("/projects/team/repositories/tools%252Flint");
    const once = await repository("/projects/team/repositories/tools%2Flint");
    expect(twice).toEqual(once);
    // The index counts once: its children are not artifacts of their own in Harbor's listing.
    expect(twice).toMatchObject({ name: "team/tools/lint", artifact_count: 1 });
    expect(twice.id).not.toBe(app.id);
    // The project may be named or numbered, as in the listing.
    expect(await repository(`/projects/${teamId}/repositories/app`)).toEqual(app);

    expectError(await api.get("/projects/team/repositories/nope"), 404, "NOT_FOUND", /team\/nope/);
    expectError(await api.get("/projects/nope/repositories/app"), 404, "NOT_FOUND");
  });

  it("gives the listing the same ids and descriptions, newest first by default, sortable", async () => {
    await api.call("PUT", "/projects/team/repositories/app", { body: { description: "The app" } });
    const reply = await api.call("GET", "/projects/team/repositories?page=1&page_size=10");
    expect(reply.headers.get("x-total-count")).toBe("2");
    const listed = reply.json as Repository[];
    expect(listed.map((r) => r.name)).toEqual(["team/tools/lint", "team/app"]);
    expect(listed[1]).toEqual(await repository("/projects/team/repositories/app"));
    expect(listed[1]?.description).toBe("The app");
    const byName = (await api.get("/projects/team/repositories?sort=name")).json as Repository[];
    expect(byName.map((r) => r.name)).toEqual(["team/app", "team/tools/lint"]);
    const byIdDesc = (await api.get("/projects/team/repositories?sort=-id")).json as Repository[];
    expect(byIdDesc.map((r) => r.id)).toEqual([...listed.map((r) => r.id)].sort((a, b) => b - a));
    // Exact names are full names; fuzzy ones match a part.
    const exact = (await api.get(`/projects/team/repositories?q=${encodeURIComponent("name=team/app")}`)).json;
    expect((exact as Repository[]).map((r) => r.name)).toEqual(["team/app"]);
    expect((await api.get("/projects/team/repositories?q=name%3Dapp")).json).toEqual([]);
  });

  it("updates the description from the whole object harbor-cli echoes back, ignoring the rest", async () => {
    const before = await repository("/projects/team/repositories/tools%252Flint");
    await sleep(5);
    const echoed = { ...before, description: "Lints the code ✓", artifact_count: 99, name: "other/name", extra: true };
    const reply = await api.call("PUT", "/projects/team/repositories/tools%252Flint", { body: echoed });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toBe("");
    const after = await repository("/projects/team/repositories/tools%252Flint");
    expect(after).toEqual({ ...before, description: "Lints the code ✓", update_time: after.update_time });
    expect(Date.parse(after.update_time)).toBeGreaterThan(Date.parse(before.update_time));

    // As Harbor: a body without a description empties it.
    expect((await api.call("PUT", "/projects/team/repositories/tools%252Flint", { body: {} })).status).toBe(200);
    expect((await repository("/projects/team/repositories/tools%252Flint")).description).toBeUndefined();

    expectError(
      await api.call("PUT", "/projects/team/repositories/app", { body: { description: 5 } }),
      400,
      "BAD_REQUEST",
      /description/,
    );
    expectError(await api.call("PUT", "/projects/team/repositories/app", { body: "{" }), 400, "BAD_REQUEST");
    expectError(await api.call("PUT", "/projects/team/repositories/nope", { body: {} }), 404, "NOT_FOUND");
  });

  it("lets developers describe, every member read, and nobody else in a private project", async () => {
    const put = (auth: Credentials | null) =>
      api.call("PUT", "/projects/team/repositories/app", { auth, body: { description: `by ${auth?.username}` } });
    expect((await put(DEVELOPER)).status).toBe(200);
    expectError(await put(GUEST), 403, "FORBIDDEN");
    expectError(await put(LIMITED), 403, "FORBIDDEN");
    expectError(await put(OUTSIDER), 403, "FORBIDDEN");
    expectError(await put(null), 401, "UNAUTHORIZED");
    for (const reader of [DEVELOPER, GUEST, LIMITED]) {
      expect((await repository("/projects/team/repositories/app", reader)).description).toBe("by dev");
    }
    expectError(await api.get("/projects/team/repositories/app", OUTSIDER), 403, "FORBIDDEN");
    expectError(await api.get("/projects/team/repositories/app", null), 401, "UNAUTHORIZED");
    // A public project's repositories are anyone's to read, nobody's to change without a role.
    expect((await repository("/projects/open/repositories/web", null)).project_id).toBe(openId);
    expectError(
      await api.call("PUT", "/projects/open/repositories/web", { auth: null, body: {} }),
      401,
      "UNAUTHORIZED",
    );
    expectError(
      await api.call("PUT", "/projects/open/repositories/web", { auth: OUTSIDER, body: {} }),
      403,
      "FORBIDDEN",
    );
  });

  it("lets a robot do what its permissions name, and nothing more", async () => {
    const writer = await api.createRobot({
      name: "describer",
      level: "project",
      duration: -1,
      permissions: projectPermissions("team", [
        ["repository", "list"],
        ["repository", "update"],
      ]),
    });
    const reader = await api.createRobot({
      name: "puller",
      level: "project",
      duration: -1,
      permissions: projectPermissions("team", [["repository", "pull"]]),
    });
    const asWriter = { username: writer.name, password: writer.secret };
    const asReader = { username: reader.name, password: reader.secret };
    expect(
      (await api.call("PUT", "/projects/team/repositories/app", { auth: asWriter, body: { description: "robot" } }))
        .status,
    ).toBe(200);
    expect((await repository("/projects/team/repositories/app", asWriter)).description).toBe("robot");
    expectError(await api.get("/projects/team/repositories/app", asReader), 403, "FORBIDDEN");
    expectError(
      await api.call("PUT", "/projects/team/repositories/app", { auth: asReader, body: {} }),
      403,
      "FORBIDDEN",
    );
  });

  it("never gives a deleted repository's id to another", async () => {
    await pushRichImage(oci, "team/short-lived", "1");
    const first = await repository("/projects/team/repositories/short-lived");
    expect((await api.call("DELETE", "/projects/team/repositories/short-lived")).status).toBe(200);
    expectError(await api.get("/projects/team/repositories/short-lived"), 404, "NOT_FOUND");
    await pushRichImage(oci, "team/short-lived", "1");
    const second = await repository("/projects/team/repositories/short-lived");
    expect(second.id).toBeGreaterThan(first.id);
    expect(second.description).toBeUndefined();
    expect((await api.call("DELETE", "/projects/team/repositories/short-lived")).status).toBe(200);
  });

  it("lists every repository the caller may see with GET /repositories", async () => {
    const all = await api.call("GET", "/repositories?page_size=100");
    expect(all.status).toBe(200);
    const names = (all.json as Repository[]).map((r) => r.name).sort();
    expect(names).toEqual(["open/web", "team/app", "team/tools/lint"]);
    expect(all.headers.get("x-total-count")).toBe("3");
    const web = (all.json as Repository[]).find((r) => r.name === "open/web");
    expect(web).toEqual(await repository("/projects/open/repositories/web"));

    const asMember = (await api.get("/repositories?page_size=100", GUEST)).json as Repository[];
    expect(asMember.map((r) => r.name).sort()).toEqual(["open/web", "team/app", "team/tools/lint"]);
    const asOutsider = (await api.get("/repositories", OUTSIDER)).json as Repository[];
    expect(asOutsider.map((r) => r.name)).toEqual(["open/web"]);
    const anonymous = await api.get("/repositories", null);
    expect(anonymous.status).toBe(200);
    expect((anonymous.json as Repository[]).map((r) => r.name)).toEqual(["open/web"]);

    const paged = await api.call("GET", "/repositories?page=2&page_size=1&sort=name");
    expect((paged.json as Repository[]).map((r) => r.name)).toEqual(["team/app"]);
    expect(paged.headers.get("link")).toMatch(/rel="prev".*rel="next"/);
    const fuzzy = (await api.get(`/repositories?q=${encodeURIComponent("name=~LINT")}`)).json as Repository[];
    expect(fuzzy.map((r) => r.name)).toEqual(["team/tools/lint"]);
  });
});
