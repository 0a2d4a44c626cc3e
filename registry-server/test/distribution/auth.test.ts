// Who may call /v2: the Docker token flow (challenge, token endpoint, bearer token with scopes)
// and basic credentials, as docker, podman, skopeo, crane and oras use them.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "./oci-client.ts";

describe("authentication on /v2", () => {
  let registry: TestRegistry;
  let admin: OciClient;
  let anonymous: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    admin = new OciClient(registry.url);
    anonymous = new OciClient(registry.url, null);
    await admin.pushImage("secure/app", "v1");
  });
  afterAll(() => registry.stop());

  async function token(scope: string, credentials = ADMIN): Promise<string> {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
    const response = await fetch(`${registry.url}/service/token?service=airlock&scope=${encodeURIComponent(scope)}`, {
      headers: { Authorization: `Basic ${basic}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  }

  it("challenges an anonymous pull with the scope to ask for", async () => {
    const response = await anonymous.request("GET", "/v2/secure/app/manifests/v1");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="${registry.url}/service/token",service="airlock",scope="repository:secure/app:pull"`,
    );
    expect(await anonymous.errorCode(response)).toBe("UNAUTHORIZED");
    const catalog = await anonymous.request("GET", "/v2/_catalog");
    expect(catalog.headers.get("www-authenticate")).toContain('scope="registry:catalog:*"');
  });

  it("accepts a bearer token from the token endpoint, within its scopes only", async () => {
    const pullOnly = new OciClient(registry.url, null);
    pullOnly.authorization = `Bearer ${await token("repository:secure/app:pull")}`;
    expect((await pullOnly.request("GET", "/v2/secure/app/manifests/v1")).status).toBe(200);
    expect((await pullOnly.request("GET", "/v2/")).status).toBe(200);

    const push = await pullOnly.request("POST", "/v2/secure/app/blobs/uploads/");
    expect(push.status).toBe(401);
    expect(push.headers.get("www-authenticate")).toContain(
      'scope="repository:secure/app:pull,push",error="insufficient_scope"',
    );
    const elsewhere = await pullOnly.request("GET", "/v2/other/app/tags/list");
    expect(elsewhere.status).toBe(401);

    const pusher = new OciClient(registry.url, null);
    pusher.authorization = `Bearer ${await token("repository:secure/new:pull,push")}`;
    expect(await pusher.pushBlob("secure/new", "pushed with a token")).toMatch(/^sha256:/);
  });

  it("refuses a forged or damaged token with invalid_token", async () => {
    const good = await token("repository:secure/app:pull");
    const [header, payload, signature] = good.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, access: [{ type: "repository", name: "secure/app", actions: ["push", "delete"] }] })).toString("base64url")}.${signature}`;
    for (const bad of [forged, "not.a.token", `${good}x`]) {
      const response = await anonymous.request("GET", "/v2/secure/app/manifests/v1", {
        headers: { Authorization: `Bearer ${bad}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  it("gives anonymous callers an empty token, and refuses wrong credentials at the token endpoint", async () => {
    const anonymousToken = await fetch(
      `${registry.url}/service/token?service=airlock&scope=repository:secure/app:pull`,
    );
    expect(anonymousToken.status).toBe(200);
    const bearer = ((await anonymousToken.json()) as { token: string }).token;
    const response = await anonymous.request("GET", "/v2/secure/app/manifests/v1", {
      headers: { Authorization: `Bearer ${bearer}` },
    });
    expect(response.status).toBe(401);

    const wrong = await fetch(`${registry.url}/service/token?service=airlock`, {
      headers: { Authorization: `Basic ${Buffer.from("admin:wrong").toString("base64")}` },
    });
    expect(wrong.status).toBe(401);
  });

  it("accepts basic credentials directly, and refuses wrong ones with a challenge", async () => {
    expect((await admin.request("GET", "/v2/secure/app/tags/list")).status).toBe(200);
    const wrong = new OciClient(registry.url, { username: "admin", password: "wrong" });
    const response = await wrong.request("GET", "/v2/secure/app/tags/list");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
  });
});
