// Failed-login throttling: after 10 wrong passwords from one address within a minute, the next
// attempts from that address are refused with 429 and Retry-After, even with the right password,
// on /v2, on /api/v2.0 and at the token endpoint; other addresses are not affected.

import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { basic, HarborClient, type Credentials } from "./harbor-client.ts";

/** GET `url` with basic credentials from another loopback address (the throttle is per source). */
function getFrom(localAddress: string, url: string, credentials: Credentials): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { localAddress, headers: { Authorization: basic(credentials) }, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
  });
}

describe("failed-login throttling", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  const wrong: Credentials = { username: ADMIN.username, password: "not-the-password" };

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
  });
  afterAll(() => registry?.stop());

  it("refuses the 11th attempt within a minute with 429 and Retry-After, even with the right password", async () => {
    // The right password works, and does not count.
    expect((await api.get("/v2/", ADMIN)).status).toBe(200);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const reply = await api.get("/v2/", attempt % 2 === 0 ? wrong : { username: "nobody", password: "Wrong1pass" });
      expect(reply.status, `attempt ${attempt}`).toBe(401);
    }

    const refused = await api.get("/v2/", ADMIN);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((refused.json as { errors: Array<{ code: string }> }).errors[0]?.code).toBe("TOOMANYREQUESTS");

    // The management API and the token endpoint refuse as well.
    const apiReply = await api.get("/users/current", ADMIN);
    expect(apiReply.status).toBe(429);
    expect(apiReply.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((apiReply.json as { errors: Array<{ code: string }> }).errors[0]?.code).toBe("TOO_MANY_REQUESTS");
    const token = await api.get("/service/token?service=airlock&scope=repository:any/repo:pull", ADMIN);
    expect(token.status).toBe(429);
    expect(token.headers.get("retry-after")).toMatch(/^\d+$/);

    // Requests without credentials are not login attempts.
    expect((await api.get("/projects", null)).status).toBe(200);
  });

  it("throttles per address: another address still logs in", async () => {
    expect((await api.get("/v2/", ADMIN)).status).toBe(429);
    expect(await getFrom("127.0.0.2", `${registry.url}/v2/`, ADMIN)).toBe(200);
    expect(await getFrom("127.0.0.2", `${registry.url}/api/v2.0/users/current`, ADMIN)).toBe(200);
  });
});
