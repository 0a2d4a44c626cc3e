import { generateKeyPairSync } from "node:crypto";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessEntry } from "../../src/auth/access-scope.ts";
import { grantEntry, type Authorizer } from "../../src/auth/authorizer.ts";
import { basicCredentials, type Principal } from "../../src/auth/principal.ts";
import { addTokenRoutes } from "../../src/auth/token-routes.ts";
import { TokenService } from "../../src/auth/token-service.ts";
import { createRequestListener } from "../../src/http/app.ts";
import { Router } from "../../src/http/router.ts";
import { listen, type RunningServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/logger.ts";
import { ADMIN } from "../helpers.ts";

const SERVICE = "airlock-test";

describe("token endpoint", () => {
  let server: RunningServer;
  let tokens: TokenService;
  let endpoint: string;

  beforeAll(async () => {
    tokens = new TokenService({
      signingKey: generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey,
      issuer: "airlock-test-issuer",
      service: SERVICE,
    });
    // The endpoint's collaborators, reduced to their contract: the admin is known and may do
    // anything; nobody else is and may not.
    const admin: Principal = { kind: "user", userId: 1, username: ADMIN.username, sysadmin: true };
    const authenticate = async (req: import("node:http").IncomingMessage): Promise<Principal | undefined> => {
      const given = basicCredentials(req);
      return given?.username === ADMIN.username && given.password === ADMIN.password ? admin : undefined;
    };
    const authorizer: Authorizer = {
      authorize: async (principal: Principal | undefined, requested: AccessEntry[]) =>
        principal === admin ? requested.flatMap((entry) => grantEntry(entry, ["*"]) ?? []) : [],
    };
    const router = new Router();
    addTokenRoutes(router, { tokens, authorizer, authenticate, service: SERVICE });
    const log = createLogger("fatal", new PassThrough());
    server = await listen(
      createRequestListener(router, log),
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1_000 },
      log,
    );
    endpoint = `${server.url}/service/token`;
  });
  afterAll(() => server.stop());

  const basic = (username: string, password: string): string =>
    `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

  async function tokenReply(response: Response): Promise<Record<string, unknown>> {
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body["access_token"]).toBe(body["token"]);
    expect(typeof body["token"]).toBe("string");
    expect(body["expires_in"]).toBe(300);
    expect(body["issued_at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body).not.toHaveProperty("refresh_token");
    return body;
  }

  const claimsOf = (body: Record<string, unknown>) => tokens.verify(body["token"] as string);

  it("gives anonymous a token without access", async () => {
    const body = await tokenReply(await fetch(`${endpoint}?service=${SERVICE}&scope=repository:library/nginx:pull`));
    expect(claimsOf(body)).toMatchObject({ sub: "", aud: SERVICE, access: [] });
  });

  it("gives the admin the requested access", async () => {
    const query = new URLSearchParams({ service: SERVICE, account: ADMIN.username });
    query.append("scope", "repository:library/nginx:pull,push");
    query.append("scope", "repository:team/app:pull registry:catalog:*");
    const response = await fetch(`${endpoint}?${query.toString()}`, {
      headers: { Authorization: basic(ADMIN.username, ADMIN.password) },
    });
    expect(claimsOf(await tokenReply(response))).toMatchObject({
      sub: ADMIN.username,
      access: [
        { type: "repository", name: "library/nginx", actions: ["pull", "push"] },
        { type: "repository", name: "team/app", actions: ["pull"] },
        { type: "registry", name: "catalog", actions: ["*"] },
      ],
    });
  });

  it("gives the admin a token without scopes for login", async () => {
    const response = await fetch(`${endpoint}?service=${SERVICE}&account=admin&offline_token=true`, {
      headers: { Authorization: basic(ADMIN.username, ADMIN.password) },
    });
    expect(claimsOf(await tokenReply(response))).toMatchObject({ sub: ADMIN.username, access: [] });
  });

  it("refuses wrong or malformed basic credentials with 401", async () => {
    for (const authorization of [basic(ADMIN.username, "wrong"), basic("mallory", ADMIN.password), "Basic !!!"]) {
      const response = await fetch(`${endpoint}?service=${SERVICE}`, { headers: { Authorization: authorization } });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(await response.json()).toEqual({
        errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }],
      });
    }
  });

  it("refuses another service with 400", async () => {
    const response = await fetch(`${endpoint}?service=elsewhere&scope=repository:a/b:pull`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ code: "BAD_REQUEST" }] });
  });

  const postForm = (fields: Record<string, string>, contentType = "application/x-www-form-urlencoded") =>
    fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": contentType },
      body: new URLSearchParams(fields).toString(),
    });

  it("answers the OAuth2 password grant", async () => {
    const response = await postForm({
      grant_type: "password",
      username: ADMIN.username,
      password: ADMIN.password,
      scope: "repository:library/nginx:pull,push repository:library/redis:pull",
      service: SERVICE,
      client_id: "containerd-client",
      access_type: "online",
    });
    expect(claimsOf(await tokenReply(response))).toMatchObject({
      sub: ADMIN.username,
      access: [
        { type: "repository", name: "library/nginx", actions: ["pull", "push"] },
        { type: "repository", name: "library/redis", actions: ["pull"] },
      ],
    });
  });

  it("refuses a password grant with wrong credentials", async () => {
    for (const username of [ADMIN.username, `${ADMIN.username}:x`]) {
      const response = await postForm({ grant_type: "password", username, password: "wrong", service: SERVICE });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    }
  });

  it("refuses unsupported grants and malformed forms", async () => {
    const refresh = await postForm({ grant_type: "refresh_token", refresh_token: "x", service: SERVICE });
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toMatchObject({ error: "unsupported_grant_type" });

    const cases: [Record<string, string>, string?][] = [
      [{ username: "admin", password: "x" }],
      [{ grant_type: "password", password: "x" }],
      [{ grant_type: "password", username: ADMIN.username, password: ADMIN.password, service: "elsewhere" }],
      [{ grant_type: "password", username: ADMIN.username, password: ADMIN.password }, "application/json"],
    ];
    for (const [fields, contentType] of cases) {
      const response = await postForm(fields, contentType);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_request" });
    }
  });

  it("refuses an oversized form", async () => {
    const response = await postForm({ grant_type: "password", username: "admin", password: "x".repeat(20_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });
});
