// Signing in to the portal, over HTTP against a real server, in Harbor's protocol: POST /c/login
// with a form, the `sid` cookie (HttpOnly, Secure, SameSite=Strict, 12 h), the management API
// through it, the CSRF token (`X-Harbor-CSRF-Token`) on replies and required for changes, Basic
// credentials first and without a token, failures counted by the login throttle, robots refused,
// log out, and nothing of a session written to the log.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { HarborClient, projectPermissions } from "../api/harbor-client.ts";
import { call, currentUser, harborError, postLogin, signIn } from "./session-client.ts";

const ALICE = { username: "alice", password: "Alice-Passw0rd" };

describe("portal sign-in", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let base: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    base = registry.url;
    api = new HarborClient(base);
    await api.createUser(ALICE.username, ALICE.password);
  });

  afterAll(async () => {
    await registry.stop();
  });

  it("signs the administrator in: users/current through the cookie, the same CSRF token on its reply", async () => {
    const session = await signIn(base, ADMIN);
    const answer = await call(base, "GET", "/users/current", { session });
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ username: "admin", sysadmin_flag: true });
    expect(answer.headers.get("x-harbor-csrf-token")).toBe(session.csrfToken);
    // An administrator's page: the user list is the administrator's only.
    expect((await call(base, "GET", "/users", { session })).status).toBe(200);
  });

  it("signs a local user in, with the user's rights and not more", async () => {
    const session = await signIn(base, ALICE);
    const answer = await call(base, "GET", "/users/current", { session });
    expect(JSON.parse(answer.text)).toMatchObject({ username: "alice", sysadmin_flag: false });
    expect(harborError(await call(base, "GET", "/users", { session }))).toMatchObject({
      status: 403,
      code: "FORBIDDEN",
    });
  });

  it("asks the CSRF token of a change made through the session, and not of one made with Basic credentials", async () => {
    const session = await signIn(base, ADMIN);
    const project = (name: string) => ({ project_name: name, metadata: { public: "false" } });

    expect(harborError(await call(base, "POST", "/projects", { session, body: project("no-token") }))).toEqual({
      status: 403,
      code: "FORBIDDEN",
      message: "CSRF token not found in request",
    });
    const wrong = await call(base, "POST", "/projects", { session, csrf: "x".repeat(43), body: project("bad-token") });
    expect(harborError(wrong)).toEqual({ status: 403, code: "FORBIDDEN", message: "CSRF token invalid" });
    // The refusal carries the token, as Harbor's does, so that a client may retry with it.
    expect(wrong.headers.get("x-harbor-csrf-token")).toBe(session.csrfToken);
    // Another session's token is no good either.
    const other = await signIn(base, ADMIN);
    const crossed = await call(base, "POST", "/projects", { session, csrf: other.csrfToken, body: project("crossed") });
    expect(harborError(crossed).message).toBe("CSRF token invalid");
    for (const name of ["no-token", "bad-token", "crossed"]) {
      expect((await api.get(`/projects?name=${name}`)).json).toEqual([]);
    }

    const made = await call(base, "POST", "/projects", { session, csrf: "session", body: project("with-token") });
    expect(made.status, made.text).toBe(201);
    // Reads need no token.
    expect((await call(base, "GET", "/projects/with-token", { session })).status).toBe(200);
    const deleted = await call(base, "DELETE", "/projects/with-token", { session, csrf: "session" });
    expect(deleted.status, deleted.text).toBe(200);

    // Basic credentials: no token needed, with or without a session cookie beside them.
    const basicOnly = await api.call("POST", "/projects", { body: project("basic-only") });
    expect(basicOnly.status, basicOnly.text).toBe(201);
    const basicAndCookie = await api.call("POST", "/projects", {
      body: project("basic-and-cookie"),
      headers: { Cookie: session.cookie },
    });
    expect(basicAndCookie.status, basicAndCookie.text).toBe(201);
    // A Basic-authenticated reply carries no session token.
    expect(basicAndCookie.headers.get("x-harbor-csrf-token")).toBeNull();
  });

  it("answers a wrong password 401 with an empty body, and counts it like a failed basic login", async () => {
    const bob = { username: "bob", password: "Bob-Passw0rd1" };
    await api.createUser(bob.username, bob.password);
    for (let i = 0; i < 10; i++) {
      const answer = await postLogin(base, { ...bob, password: `wrong-${i}` });
      expect(answer.status).toBe(401);
      expect(answer.text).toBe("");
      expect(answer.headers.getSetCookie()).toEqual([]);
    }
    // Ten failures from this address: the right password is now refused for a while, everywhere.
    const throttled = await postLogin(base, bob);
    expect(harborError(throttled)).toMatchObject({ status: 429, code: "TOO_MANY_REQUESTS" });
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await api.get("/users/current", bob)).status).toBe(429);
  });

  it("refuses a robot's credentials, which do work on the API", async () => {
    const robot = await api.createRobot({
      name: "portalbot",
      level: "system",
      duration: -1,
      permissions: projectPermissions("*", [["repository", "pull"]]),
    });
    expect((await api.get("/users/current", { username: robot.name, password: robot.secret })).status).toBe(404);
    const answer = await postLogin(base, { username: robot.name, password: robot.secret });
    expect(answer.status).toBe(401);
    expect(answer.headers.getSetCookie()).toEqual([]);
  });

  it("reads the form only: JSON, an empty field or a query string sign nobody in; a large body is a 413", async () => {
    const json = await postLogin(base, ALICE, {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ principal: ALICE.username, password: ALICE.password }),
    });
    expect(json.status).toBe(401);
    expect((await postLogin(base, { username: "alice", password: "" })).status).toBe(401);
    const query = await fetch(`${base}/c/login?principal=alice&password=${encodeURIComponent(ALICE.password)}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(query.status).toBe(401);
    const large = await postLogin(base, ALICE, { body: `principal=alice&password=${"x".repeat(64 * 1024)}` });
    expect(harborError(large)).toMatchObject({ status: 413 });
  });

  it("refuses a sign-in that the browser says another site started", async () => {
    const fromElsewhere = await postLogin(base, ALICE, { headers: { "Sec-Fetch-Site": "cross-site" } });
    expect(harborError(fromElsewhere)).toMatchObject({ status: 403, code: "FORBIDDEN" });
    const otherOrigin = await postLogin(base, ALICE, { headers: { Origin: "https://evil.example" } });
    expect(harborError(otherOrigin)).toMatchObject({ status: 403, code: "FORBIDDEN" });
    // The portal's own page: same origin.
    await signIn(base, ALICE, { "Sec-Fetch-Site": "same-origin", Origin: base });
  });

  it("logs out: the cookie is cleared and no longer works; log out answers GET only", async () => {
    const session = await signIn(base, ALICE);
    expect(await currentUser(base, session)).toBe("alice");
    const out = await call(base, "GET", "/c/log_out", { session });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()).toEqual(["sid=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"]);
    expect(await currentUser(base, session)).toBe(401);
    // Without a session, log out still answers 200.
    expect((await call(base, "GET", "/c/log_out")).status).toBe(200);
    expect((await call(base, "POST", "/c/log_out", { session })).status).toBe(405);
  });

  it("gives a new session at each sign-in and ends the one presented (no fixation)", async () => {
    const first = await signIn(base, ALICE);
    const second = await signIn(base, ALICE, { Cookie: first.cookie });
    expect(second.id).not.toBe(first.id);
    expect(second.csrfToken).not.toBe(first.csrfToken);
    expect(await currentUser(base, first)).toBe(401);
    expect(await currentUser(base, second)).toBe("alice");
  });

  it("does not authenticate the registry API (/v2) by the session", async () => {
    const session = await signIn(base, ADMIN);
    expect((await call(base, "GET", "/v2/", { session })).status).toBe(401);
  });

  it("ignores a cookie that is not a session of ours", async () => {
    const forged = { id: "A".repeat(43), cookie: `sid=${"A".repeat(43)}`, csrfToken: "" };
    expect(await currentUser(base, forged)).toBe(401);
    expect(await currentUser(base, { ...forged, cookie: "sid=../../etc" })).toBe(401);
  });

  it("writes no session id nor CSRF token to the log", async () => {
    const session = await signIn(base, ALICE);
    await call(base, "GET", "/users/current", { session });
    await call(base, "POST", "/projects", { session, body: {} });
    await call(base, "GET", "/c/log_out", { session });
    // A request's log line is written when its response closes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const log = registry.logs.join("\n");
    expect(log).toContain('"route":"session_login"');
    expect(log).not.toContain(session.id);
    expect(log).not.toContain(session.csrfToken);
    expect(log).not.toContain(ALICE.password);
  });
});
