// Contract tests of Harbor's project members API (/api/v2.0/projects/{project}/members…)
// against Harbor's `ProjectMember`, `RoleRequest` and `ProjectMemberEntity`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectCreatedEmpty, expectError, HarborClient, links, type Credentials } from "./harbor-client.ts";

interface MemberJson {
  id: number;
  project_id: number;
  entity_name: string;
  role_name: string;
  role_id: number;
  entity_id: number;
  entity_type: string;
}

const CAROL: Credentials = { username: "carol", password: "Carol1password" };
const DAVE: Credentials = { username: "dave", password: "Dave1password" };
const ERIN: Credentials = { username: "erin", password: "Erin1password" };
const OUTSIDER: Credentials = { username: "outsider", password: "Outsider1password" };

describe("Harbor project members API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let projectId: number;
  let carolId: number;
  let daveId: number;
  let erinId: number;
  let adminId: number;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    carolId = await api.createUser(CAROL.username, CAROL.password);
    daveId = await api.createUser(DAVE.username, DAVE.password);
    erinId = await api.createUser(ERIN.username, ERIN.password);
    await api.createUser(OUTSIDER.username, OUTSIDER.password);
    projectId = await api.createProject("team", false);
    adminId = ((await api.get("/users/current")).json as { user_id: number }).user_id;
  });
  afterAll(() => registry?.stop());

  const members = (project: string | number = projectId): string => `/projects/${project}/members`;

  it("adds a member by username: 201, empty body, Location of the member", async () => {
    const reply = await api.call("POST", members(), { body: { role_id: 2, member_user: { username: "carol" } } });
    const mid = expectCreatedEmpty(reply, `/api/v2.0/projects/${projectId}/members/`);
    expect(reply.headers.get("location")).toBe(`/api/v2.0/projects/${projectId}/members/${mid}`);

    const got = await api.get(`${members()}/${mid}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      id: mid,
      project_id: projectId,
      entity_name: "carol",
      role_name: "developer",
      role_id: 2,
      entity_id: carolId,
      entity_type: "u",
    });
  });

  it("adds a member by user_id, through the project's name", async () => {
    const reply = await api.call("POST", members("team"), { body: { role_id: 3, member_user: { user_id: daveId } } });
    const mid = expectCreatedEmpty(reply, "/members/");
    const member = (await api.get(`${members("team")}/${mid}`)).json as MemberJson;
    expect(member.entity_id).toBe(daveId);
    expect(member.entity_name).toBe("dave");
    expect(member.role_id).toBe(3);
    expect(member.role_name).toBe("guest");
  });

  it("lists members with X-Total-Count, pages with Link, and filters by entityname", async () => {
    const all = await api.get(members());
    expect(all.status).toBe(200);
    const list = all.json as MemberJson[];
    // The creator (the administrator) is the first member, as projectAdmin.
    expect(list.map((m) => m.entity_name)).toEqual(expect.arrayContaining([ADMIN.username, "carol", "dave"]));
    expect(list.find((m) => m.entity_id === adminId)?.role_id).toBe(1);
    expect(Number(all.headers.get("x-total-count"))).toBe(list.length);
    for (const member of list) {
      expect(Number.isInteger(member.id)).toBe(true);
      expect(member.project_id).toBe(projectId);
      expect(member.entity_type).toBe("u");
    }

    const page = await api.get(`${members()}?page=1&page_size=2`);
    expect(page.json as unknown[]).toHaveLength(2);
    expect(Number(page.headers.get("x-total-count"))).toBe(list.length);
    expect(links(page)["next"]).toBe(`/api/v2.0/projects/${projectId}/members?page=2&page_size=2`);

    const filtered = await api.get(`${members()}?entityname=car`);
    expect((filtered.json as MemberJson[]).map((m) => m.entity_name)).toEqual(["carol"]);
    expect(filtered.headers.get("x-total-count")).toBe("1");
  });

  it("lets any member list and read members, and no one else", async () => {
    const asGuest = await api.get(members(), DAVE);
    expect(asGuest.status).toBe(200);
    expect((asGuest.json as unknown[]).length).toBeGreaterThanOrEqual(3);
    expectError(await api.get(members(), OUTSIDER), 403, "FORBIDDEN");
    expectError(await api.get(members(), null), 401, "UNAUTHORIZED");
  });

  it("updates a member's role", async () => {
    const mid = expectCreatedEmpty(
      await api.call("POST", members(), { body: { role_id: 3, member_user: { username: "erin" } } }),
      "/members/",
    );
    const reply = await api.call("PUT", `${members()}/${mid}`, { body: { role_id: 4 } });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("");
    const member = (await api.get(`${members()}/${mid}`)).json as MemberJson;
    expect(member.role_id).toBe(4);
    expect(member.role_name).toBe("maintainer");
    expect(member.entity_id).toBe(erinId);

    expect((await api.call("PUT", `${members()}/${mid}`, { body: { role_id: 5 } })).status).toBe(200);
    expect(((await api.get(`${members()}/${mid}`)).json as MemberJson).role_name).toBe("limitedGuest");

    expectError(await api.call("PUT", `${members()}/${mid}`, { body: { role_id: 9 } }), 400, "BAD_REQUEST", /role_id/);
    expectError(await api.call("PUT", `${members()}/${mid}`, { body: {} }), 400, "BAD_REQUEST", /role_id/);
    expectError(await api.call("PUT", `${members()}/999999`, { body: { role_id: 2 } }), 404, "NOT_FOUND");
    // Only the project's admin may change roles: erin herself may not.
    expectError(await api.call("PUT", `${members()}/${mid}`, { auth: ERIN, body: { role_id: 1 } }), 403, "FORBIDDEN");
    expect(((await api.get(`${members()}/${mid}`)).json as MemberJson).role_id).toBe(5);
  });

  it("deletes a member", async () => {
    await api.createUser("leaver", "Leaver1password");
    const mid = await api.addMember(projectId, "leaver", 2);
    const before = Number((await api.get(members())).headers.get("x-total-count"));
    expectError(await api.call("DELETE", `${members()}/${mid}`, { auth: CAROL }), 403, "FORBIDDEN");

    const reply = await api.call("DELETE", `${members()}/${mid}`);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("");
    expectError(await api.get(`${members()}/${mid}`), 404, "NOT_FOUND");
    expect(Number((await api.get(members())).headers.get("x-total-count"))).toBe(before - 1);
    expectError(await api.call("DELETE", `${members()}/${mid}`), 404, "NOT_FOUND");
  });

  it("refuses a user who is already a member with 409 CONFLICT", async () => {
    expectError(
      await api.call("POST", members(), { body: { role_id: 3, member_user: { username: "carol" } } }),
      409,
      "CONFLICT",
    );
    expectError(
      await api.call("POST", members(), { body: { role_id: 3, member_user: { user_id: carolId } } }),
      409,
      "CONFLICT",
    );
  });

  it("answers 404 NOT_FOUND for an unknown user, member or project", async () => {
    expectError(
      await api.call("POST", members(), { body: { role_id: 2, member_user: { username: "nobody" } } }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await api.call("POST", members(), { body: { role_id: 2, member_user: { user_id: 999999 } } }),
      404,
      "NOT_FOUND",
    );
    expectError(await api.get(`${members()}/999999`), 404, "NOT_FOUND");
    expectError(await api.get(members("no-such-project")), 404, "NOT_FOUND");
  });

  it("refuses group members with 400", async () => {
    expectError(
      await api.call("POST", members(), { body: { role_id: 2, member_group: { group_name: "devs", group_type: 1 } } }),
      400,
      "BAD_REQUEST",
      /group/,
    );
  });

  it("refuses invalid bodies with 400 naming the field", async () => {
    expectError(
      await api.call("POST", members(), { body: { member_user: { username: "outsider" } } }),
      400,
      "BAD_REQUEST",
      /role_id/,
    );
    expectError(
      await api.call("POST", members(), { body: { role_id: 6, member_user: { username: "outsider" } } }),
      400,
      "BAD_REQUEST",
      /role_id/,
    );
    expectError(
      await api.call("POST", members(), { body: { role_id: 2, member_user: {} } }),
      400,
      "BAD_REQUEST",
      /member_user/,
    );
    expectError(
      await api.call("POST", members(), { body: { role_id: 2, member_user: { user_id: "7" } } }),
      400,
      "BAD_REQUEST",
      /member_user\.user_id/,
    );
    // Harbor reads a page below 1 as the first page, and refuses only what is not a number.
    expect((await api.get(`${members()}?page=-1`)).status).toBe(200);
    expectError(await api.get(`${members()}?page=first`), 400, "BAD_REQUEST");
  });

  it("lets only the project's admin add members", async () => {
    const body = { role_id: 2, member_user: { username: "outsider" } };
    expectError(await api.call("POST", members(), { auth: null, body }), 401, "UNAUTHORIZED");
    expectError(await api.call("POST", members(), { auth: CAROL, body }), 403, "FORBIDDEN");
    expectError(await api.call("POST", members(), { auth: OUTSIDER, body }), 403, "FORBIDDEN");

    // Once carol is the project's admin she may.
    const carol = ((await api.get(`${members()}?entityname=carol`)).json as MemberJson[])[0];
    expect((await api.call("PUT", `${members()}/${carol?.id}`, { body: { role_id: 1 } })).status).toBe(200);
    expectCreatedEmpty(await api.call("POST", members(), { auth: CAROL, body }), "/members/");
    const outsider = ((await api.get(`${members()}?entityname=outsider`)).json as MemberJson[])[0];
    expect(outsider?.role_name).toBe("developer");
  });
});
