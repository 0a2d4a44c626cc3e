// Contract tests of Harbor's users API (/api/v2.0/users…) against Harbor's `UserCreationReq`,
// `UserResp`, `UserSearchRespItem`, `UserProfile`, `PasswordReq` and `UserSysAdminFlag`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectCreatedEmpty, expectError, HarborClient, links, RFC3339, type Credentials } from "./harbor-client.ts";

interface UserJson {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  admin_role_in_auth: boolean;
  creation_time: string;
  update_time: string;
}

const FRANK: Credentials = { username: "frank", password: "Frank1password" };
const GRACE: Credentials = { username: "grace", password: "Grace1password" };

describe("Harbor users API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let frankId: number;
  let graceId: number;
  let adminId: number;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    frankId = await api.createUser(FRANK.username, FRANK.password);
    graceId = await api.createUser(GRACE.username, GRACE.password);
    adminId = ((await api.get("/users/current")).json as UserJson).user_id;
  });
  afterAll(() => registry?.stop());

  describe("create", () => {
    it("answers 201 with an empty body and Location, and the user reads back as UserResp", async () => {
      const reply = await api.call("POST", "/users", {
        body: {
          username: "heidi",
          email: "heidi@example.com",
          realname: "Heidi H",
          comment: "from the test",
          password: "Heidi1password",
        },
      });
      const id = expectCreatedEmpty(reply, "/api/v2.0/users/");
      expect(reply.headers.get("location")).toBe(`/api/v2.0/users/${id}`);

      const got = await api.get(`/users/${id}`);
      expect(got.status).toBe(200);
      const user = got.json as UserJson;
      expect(user).toEqual({
        user_id: id,
        username: "heidi",
        email: "heidi@example.com",
        realname: "Heidi H",
        comment: "from the test",
        sysadmin_flag: false,
        admin_role_in_auth: false,
        creation_time: expect.stringMatching(RFC3339) as unknown,
        update_time: expect.stringMatching(RFC3339) as unknown,
      });
      expect(got.text).not.toMatch(/password|scrypt/i);
      // The new user can log in.
      expect((await api.get("/users/current", { username: "heidi", password: "Heidi1password" })).status).toBe(200);
    });

    it("enforces Harbor's password rule: 8 to 128 characters, upper, lower case and a digit", async () => {
      for (const password of ["Short1a", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", `Aa1${"x".repeat(126)}`]) {
        expectError(
          await api.call("POST", "/users", { body: { username: "weak", password } }),
          400,
          "BAD_REQUEST",
          /password/,
        );
      }
      expectError(await api.call("POST", "/users", { body: { username: "weak" } }), 400, "BAD_REQUEST", /password/);
      expect((await api.get("/users?q=username%3D~weak")).json).toEqual([]);
      expectCreatedEmpty(
        await api.call("POST", "/users", { body: { username: "strong", password: "Exactly8" } }),
        "/api/v2.0/users/",
      );
    });

    it("refuses invalid usernames and emails with 400 naming the field", async () => {
      const password = "Valid1password";
      for (const username of ["", "has space", "comma,name", "robot$sneaky", "colon:name"]) {
        expectError(await api.call("POST", "/users", { body: { username, password } }), 400, "BAD_REQUEST", /username/);
      }
      expectError(
        await api.call("POST", "/users", { body: { username: "mailer", password, email: "not-an-email" } }),
        400,
        "BAD_REQUEST",
        /email/,
      );
    });

    it("refuses a taken username with 409 CONFLICT", async () => {
      expectError(
        await api.call("POST", "/users", { body: { username: "frank", password: "Another1password" } }),
        409,
        "CONFLICT",
      );
    });

    it("is for the administrator only", async () => {
      const body = { username: "ivan", password: "Ivan1password" };
      expectError(await api.call("POST", "/users", { auth: FRANK, body }), 403, "FORBIDDEN");
      expectError(await api.call("POST", "/users", { auth: null, body }), 401, "UNAUTHORIZED");
      expect((await api.get("/users?q=username%3Divan")).json).toEqual([]);
    });
  });

  describe("list and search", () => {
    it("lists users for the administrator, with X-Total-Count, paging and q=username=~…", async () => {
      const all = await api.get("/users?page_size=100");
      expect(all.status).toBe(200);
      const users = all.json as UserJson[];
      expect(users.map((u) => u.username)).toEqual(expect.arrayContaining([ADMIN.username, "frank", "grace"]));
      expect(Number(all.headers.get("x-total-count"))).toBe(users.length);
      expect(users.find((u) => u.username === ADMIN.username)?.sysadmin_flag).toBe(true);
      for (const user of users) expect(Number.isInteger(user.user_id)).toBe(true);

      const page = await api.get("/users?page=2&page_size=1");
      expect(page.json as unknown[]).toHaveLength(1);
      expect(links(page)).toEqual({
        prev: "/api/v2.0/users?page=1&page_size=1",
        next: "/api/v2.0/users?page=3&page_size=1",
      });

      const filtered = await api.get(`/users?q=${encodeURIComponent("username=~ran")}`);
      expect((filtered.json as UserJson[]).map((u) => u.username)).toEqual(["frank"]);
      expect(filtered.headers.get("x-total-count")).toBe("1");
      // Exact matches are exact, lists any of their values, as Harbor's query builder reads them.
      expect((await api.get(`/users?q=${encodeURIComponent("username=ran")}`)).json).toEqual([]);
      const either = await api.get(`/users?q=${encodeURIComponent("username={frank grace}")}`);
      expect((either.json as UserJson[]).map((u) => u.username).sort()).toEqual(["frank", "grace"]);
      expectError(await api.get(`/users?q=${encodeURIComponent("username=[a b]")}`), 400, "BAD_REQUEST");
    });

    it("refuses the list to anyone else", async () => {
      expectError(await api.get("/users", FRANK), 403, "FORBIDDEN");
      expectError(await api.get("/users", null), 401, "UNAUTHORIZED");
    });

    it("searches users by name for any authenticated caller, with user_id and username only", async () => {
      const reply = await api.get("/users/search?username=gra", FRANK);
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual([{ user_id: graceId, username: "grace" }]);
      expect(reply.headers.get("x-total-count")).toBe("1");
      expectError(await api.get("/users/search?username=gra", null), 401, "UNAUTHORIZED");
      expectError(await api.get("/users/search", FRANK), 400, "BAD_REQUEST", /username/);
    });
  });

  describe("current user and profiles", () => {
    it("answers /users/current with the caller's own profile", async () => {
      const reply = await api.get("/users/current", FRANK);
      expect(reply.status).toBe(200);
      const user = reply.json as UserJson;
      expect(user.user_id).toBe(frankId);
      expect(user.username).toBe("frank");
      expect(user.sysadmin_flag).toBe(false);
      expect((await api.get("/users/current")).json).toMatchObject({ user_id: adminId, sysadmin_flag: true });
      expectError(await api.get("/users/current", null), 401, "UNAUTHORIZED");
    });

    it("shows a user their own profile but not another's (403); the administrator sees any", async () => {
      expect(((await api.get(`/users/${frankId}`, FRANK)).json as UserJson).username).toBe("frank");
      expectError(await api.get(`/users/${graceId}`, FRANK), 403, "FORBIDDEN");
      expectError(await api.get(`/users/${adminId}`, FRANK), 403, "FORBIDDEN");
      expect(((await api.get(`/users/${graceId}`)).json as UserJson).username).toBe("grace");
      expectError(await api.get("/users/999999"), 404, "NOT_FOUND");
      expectError(await api.get(`/users/${frankId}`, null), 401, "UNAUTHORIZED");
    });

    it("updates email, realname and comment, by the user or the administrator", async () => {
      const before = (await api.get(`/users/${frankId}`)).json as UserJson;
      const reply = await api.call("PUT", `/users/${frankId}`, {
        auth: FRANK,
        body: { email: "frank@new.example.com", realname: "Frank N", comment: "updated" },
      });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      const after = (await api.get(`/users/${frankId}`)).json as UserJson;
      expect(after).toMatchObject({ email: "frank@new.example.com", realname: "Frank N", comment: "updated" });
      expect(after.username).toBe("frank");
      expect(after.creation_time).toBe(before.creation_time);
      expect(Date.parse(after.update_time)).toBeGreaterThanOrEqual(Date.parse(before.update_time));

      expect((await api.call("PUT", `/users/${frankId}`, { body: { comment: "by admin" } })).status).toBe(200);
      expect(((await api.get(`/users/${frankId}`)).json as UserJson).comment).toBe("by admin");

      expectError(
        await api.call("PUT", `/users/${graceId}`, { auth: FRANK, body: { comment: "hijack" } }),
        403,
        "FORBIDDEN",
      );
      expect(((await api.get(`/users/${graceId}`)).json as UserJson).comment).toBe("");
      expectError(
        await api.call("PUT", `/users/${frankId}`, { auth: FRANK, body: { email: "nope" } }),
        400,
        "BAD_REQUEST",
        /email/,
      );
      expectError(await api.call("PUT", "/users/999999", { body: { comment: "x" } }), 404, "NOT_FOUND");
    });
  });

  describe("password", () => {
    it("lets users change their own password only with the old one", async () => {
      const judy = { username: "judy", password: "Judy1password" };
      const id = await api.createUser(judy.username, judy.password);
      const path = `/users/${id}/password`;

      expectError(
        await api.call("PUT", path, {
          auth: judy,
          body: { old_password: "Wrong1password", new_password: "Judy2password" },
        }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await api.call("PUT", path, { auth: judy, body: { new_password: "Judy2password" } }),
        400,
        "BAD_REQUEST",
        /old_password/,
      );
      expectError(
        await api.call("PUT", path, { auth: judy, body: { old_password: judy.password, new_password: "weak" } }),
        400,
        "BAD_REQUEST",
        /new_password/,
      );
      // Nothing changed so far.
      expect((await api.get("/users/current", judy)).status).toBe(200);

      const reply = await api.call("PUT", path, {
        auth: judy,
        body: { old_password: judy.password, new_password: "Judy2password" },
      });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expectError(await api.get("/users/current", judy), 401, "UNAUTHORIZED");
      expect((await api.get("/users/current", { ...judy, password: "Judy2password" })).status).toBe(200);
    });

    it("lets the administrator reset a password without the old one", async () => {
      const mallory = { username: "mallory", password: "Mallory1password" };
      const id = await api.createUser(mallory.username, mallory.password);
      expect((await api.get("/users/current", mallory)).status).toBe(200);
      expect(
        (await api.call("PUT", `/users/${id}/password`, { body: { new_password: "Reset1password" } })).status,
      ).toBe(200);
      expectError(await api.get("/users/current", mallory), 401, "UNAUTHORIZED");
      expect((await api.get("/users/current", { ...mallory, password: "Reset1password" })).status).toBe(200);
    });

    it("refuses to change another user's password", async () => {
      expectError(
        await api.call("PUT", `/users/${graceId}/password`, {
          auth: FRANK,
          body: { old_password: GRACE.password, new_password: "Stolen1password" },
        }),
        403,
        "FORBIDDEN",
      );
      expect((await api.get("/users/current", GRACE)).status).toBe(200);
    });
  });

  describe("sysadmin flag", () => {
    it("makes a user an administrator and back, for the administrator only", async () => {
      const kim = { username: "kim", password: "Kim1password" };
      const id = await api.createUser(kim.username, kim.password);
      expectError(await api.get("/users", kim), 403, "FORBIDDEN");

      const reply = await api.call("PUT", `/users/${id}/sysadmin`, { body: { sysadmin_flag: true } });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expect(((await api.get(`/users/${id}`)).json as UserJson).sysadmin_flag).toBe(true);
      expect((await api.get("/users", kim)).status).toBe(200);

      expect((await api.call("PUT", `/users/${id}/sysadmin`, { body: { sysadmin_flag: false } })).status).toBe(200);
      expect(((await api.get(`/users/${id}`)).json as UserJson).sysadmin_flag).toBe(false);
      expectError(await api.get("/users", kim), 403, "FORBIDDEN");
    });

    it("refuses non-administrators, bad bodies, unknown users and changing one's own flag", async () => {
      expectError(
        await api.call("PUT", `/users/${frankId}/sysadmin`, { auth: FRANK, body: { sysadmin_flag: true } }),
        403,
        "FORBIDDEN",
      );
      expect(((await api.get(`/users/${frankId}`)).json as UserJson).sysadmin_flag).toBe(false);
      expectError(
        await api.call("PUT", `/users/${frankId}/sysadmin`, { body: { sysadmin_flag: "true" } }),
        400,
        "BAD_REQUEST",
        /sysadmin_flag/,
      );
      expectError(await api.call("PUT", "/users/999999/sysadmin", { body: { sysadmin_flag: true } }), 404, "NOT_FOUND");
      expectError(
        await api.call("PUT", `/users/${adminId}/sysadmin`, { body: { sysadmin_flag: false } }),
        400,
        "BAD_REQUEST",
      );
    });
  });

  describe("delete", () => {
    it("deletes a user, who can no longer log in", async () => {
      const leo = { username: "leo", password: "Leo1password" };
      const id = await api.createUser(leo.username, leo.password);
      expect((await api.get("/users/current", leo)).status).toBe(200);
      expectError(await api.call("DELETE", `/users/${id}`, { auth: FRANK }), 403, "FORBIDDEN");

      const reply = await api.call("DELETE", `/users/${id}`);
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expectError(await api.get(`/users/${id}`), 404, "NOT_FOUND");
      expectError(await api.get("/users/current", leo), 401, "UNAUTHORIZED");
      expectError(await api.call("DELETE", `/users/${id}`), 404, "NOT_FOUND");
    });

    it("removes the user's memberships with them", async () => {
      const mia = { username: "mia", password: "Mia1password" };
      await api.createUser(mia.username, mia.password);
      const projectId = await api.createProject("mias-team", false);
      const mid = await api.addMember(projectId, "mia", 2);
      const id = ((await api.get("/users/search?username=mia")).json as Array<{ user_id: number }>)[0]?.user_id;
      expect((await api.call("DELETE", `/users/${id}`)).status).toBe(200);
      expectError(await api.get(`/projects/${projectId}/members/${mid}`), 404, "NOT_FOUND");
    });

    it("refuses deleting oneself", async () => {
      expectError(await api.call("DELETE", `/users/${adminId}`), 400, "BAD_REQUEST");
      expect((await api.get("/users/current")).status).toBe(200);
    });
  });
});
