// Failed-login throttling, over HTTP against a real server: per account from one address (10 a
// minute), per account from every address (30), and per address across accounts (30, after
// which each account gets one failure from there). A right password for an account without
// failures is never refused, whatever other accounts did from the same address (the shared
// address of an Ingress). Refusals are 429 with Retry-After in each protocol: OCI's
// TOOMANYREQUESTS on /v2 and the token endpoint, Harbor's TOO_MANY_REQUESTS on /api/v2.0.
// Behind trusted proxies the forwarded address counts (rightmost untrusted hop); the header of
// an untrusted peer is ignored. Each test uses its own accounts and loopback addresses, as the
// counts of one registry last a minute.

import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { basic, HarborClient, projectPermissions, type Credentials } from "./harbor-client.ts";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET `url` with basic credentials from a chosen loopback address, with extra headers. */
function getFrom(
  localAddress: string,
  url: string,
  credentials: Credentials,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { localAddress, agent: false, headers: { Authorization: basic(credentials), ...headers }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
  });
}

interface LogEntry {
  msg?: string;
  remote?: string;
  peer?: string;
  status?: number;
}

/** The request log lines answered 429, once one is there (a line is written when its response closes). */
async function throttledLogLines(registry: TestRegistry): Promise<LogEntry[]> {
  for (let wait = 0; wait < 40; wait++) {
    const lines = registry.logs
      .map((line) => JSON.parse(line) as LogEntry)
      .filter((entry) => entry.msg === "request" && entry.status === 429);
    if (lines.length > 0) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}

function errorCode(reply: Reply): string | undefined {
  return (JSON.parse(reply.body) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
}

function expectThrottled(reply: Reply, code: string): void {
  expect(reply.status, reply.body).toBe(429);
  const retryAfter = Number(reply.headers["retry-after"]);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(errorCode(reply)).toBe(code);
}

/** `count` wrong passwords for `username` from `address`, each answered 401. */
async function fail(
  registry: TestRegistry,
  address: string,
  username: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<void> {
  for (let attempt = 1; attempt <= count; attempt++) {
    const reply = await getFrom(address, `${registry.url}/v2/`, { username, password: "Wrong-password-1" }, headers);
    expect(reply.status, `${username} from ${address}, attempt ${attempt}`).toBe(401);
  }
}

describe("failed-login throttling", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  const users: Record<string, Credentials> = {};

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    for (const name of ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]) {
      users[name] = { username: name, password: `Password-of-${name}-1` };
      await api.createUser(name, users[name].password);
    }
  });
  afterAll(() => registry?.stop());

  const user = (name: string): Credentials => users[name] as Credentials;

  it("after 10 failures of one account from an address, another account's right password still logs in there", async () => {
    const v2 = `${registry.url}/v2/`;
    await fail(registry, "127.0.0.1", "alice", 10);

    // The attacked account is refused from that address, even with the right password, everywhere.
    expectThrottled(await getFrom("127.0.0.1", v2, user("alice")), "TOOMANYREQUESTS");
    expectThrottled(
      await getFrom("127.0.0.1", `${registry.url}/api/v2.0/users/current`, user("alice")),
      "TOO_MANY_REQUESTS",
    );
    expectThrottled(
      await getFrom(
        "127.0.0.1",
        `${registry.url}/service/token?service=airlock&scope=repository:any/repo:pull`,
        user("alice"),
      ),
      "TOOMANYREQUESTS",
    );

    // Another account behind the same address (everyone, behind an Ingress) is not.
    expect((await getFrom("127.0.0.1", v2, user("bob"))).status).toBe(200);
    expect((await getFrom("127.0.0.1", `${registry.url}/api/v2.0/users/current`, user("bob"))).status).toBe(200);
    const token = await getFrom(
      "127.0.0.1",
      `${registry.url}/service/token?service=airlock&scope=repository:any/repo:pull`,
      user("bob"),
    );
    expect(token.status, token.body).toBe(200);
    expect((await getFrom("127.0.0.1", v2, ADMIN)).status).toBe(200);
    // The attacked account from another address is not refused either (9 failures more are not 30).
    expect((await getFrom("127.0.0.2", v2, user("alice"))).status).toBe(200);
    // Requests without credentials are not login attempts.
    expect((await api.get("/projects", null)).status).toBe(200);
  });

  it("throttles a robot by its name like any account, and not the accounts beside it", async () => {
    await api.createProject("throttled", false);
    const robot = await api.createRobot({
      name: "ci",
      level: "project",
      duration: -1,
      permissions: projectPermissions("throttled", [["repository", "pull"]]),
    });
    await fail(registry, "127.0.0.3", robot.name, 10);
    expectThrottled(
      await getFrom("127.0.0.3", `${registry.url}/v2/`, { username: robot.name, password: robot.secret }),
      "TOOMANYREQUESTS",
    );
    expect((await getFrom("127.0.0.3", `${registry.url}/v2/`, user("carol"))).status).toBe(200);
  });

  it("throttles an account failing from many addresses, except where it logged in before", async () => {
    const v2 = `${registry.url}/v2/`;
    // The account's usual address, before the attack.
    expect((await getFrom("127.0.1.99", v2, user("dave"))).status).toBe(200);
    // 30 failures from 5 addresses: none reaches the 10 of one address, together they reach 30.
    for (const address of ["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5"]) {
      await fail(registry, address, "dave", 6);
    }
    expectThrottled(await getFrom("127.0.1.50", v2, user("dave")), "TOOMANYREQUESTS");
    expect((await getFrom("127.0.1.99", v2, user("dave"))).status).toBe(200);
    // Other accounts from the attacking addresses are untouched.
    expect((await getFrom("127.0.1.1", v2, user("erin"))).status).toBe(200);
  });

  it("gives each account one failure from an address spraying passwords, and never refuses an unattacked one", async () => {
    const v2 = `${registry.url}/v2/`;
    // One guess at each of 30 names (frank among them) from one address.
    await fail(registry, "127.0.2.1", "frank", 1);
    for (let i = 1; i < 30; i++) await fail(registry, "127.0.2.1", `sprayed-${i}`, 1);
    // frank has failed from there: refused without his password being checked.
    expectThrottled(await getFrom("127.0.2.1", v2, user("frank")), "TOOMANYREQUESTS");
    // A name not tried yet gets its one guess; then it is refused too.
    await fail(registry, "127.0.2.1", "sprayed-new", 1);
    const second = await getFrom("127.0.2.1", v2, { username: "sprayed-new", password: "Wrong-password-1" });
    expectThrottled(second, "TOOMANYREQUESTS");
    // grace has no failure: her right password works from the spraying address; frank's from another.
    expect((await getFrom("127.0.2.1", v2, user("grace"))).status).toBe(200);
    expect((await getFrom("127.0.2.2", v2, user("frank"))).status).toBe(200);
  });
});

describe("failed-login throttling behind trusted proxies", () => {
  let trusting: TestRegistry;
  let distrusting: TestRegistry;

  beforeAll(async () => {
    // Loopback is the proxy here; 10.0.0.0/8 is not where these requests come from.
    trusting = await startTestRegistry({ trustedProxies: { cidrs: ["127.0.0.1/32"], header: "x-forwarded-for" } });
    distrusting = await startTestRegistry({ trustedProxies: { cidrs: ["10.0.0.0/8"], header: "x-forwarded-for" } });
  });
  afterAll(async () => {
    await trusting?.stop();
    await distrusting?.stop();
  });

  it("keys on the forwarded address of a trusted proxy: rightmost untrusted hop, not what the client prepends", async () => {
    const v2 = `${trusting.url}/v2/`;
    const from = (xff: string): Record<string, string> => ({ "X-Forwarded-For": xff });
    await fail(trusting, "127.0.0.1", ADMIN.username, 10, from("198.51.100.7"));
    expectThrottled(await getFrom("127.0.0.1", v2, ADMIN, from("198.51.100.7")), "TOOMANYREQUESTS");
    // A client prepending an address of its choice is still 198.51.100.7 to the proxy…
    expectThrottled(await getFrom("127.0.0.1", v2, ADMIN, from("203.0.113.1, 198.51.100.7")), "TOOMANYREQUESTS");
    // …and a trusted hop on the right is skipped.
    expectThrottled(await getFrom("127.0.0.1", v2, ADMIN, from("198.51.100.7, 127.0.0.1")), "TOOMANYREQUESTS");
    // Another client behind the same proxy is another address.
    expect((await getFrom("127.0.0.1", v2, ADMIN, from("198.51.100.8"))).status).toBe(200);
    // The request log records the client the proxy named, and the proxy as the peer.
    const logged = await throttledLogLines(trusting);
    expect(logged.length).toBeGreaterThan(0);
    for (const entry of logged) expect(entry).toMatchObject({ remote: "198.51.100.7", peer: "127.0.0.1" });
  });

  it("ignores the forwarding header of a peer it does not trust", async () => {
    const v2 = `${distrusting.url}/v2/`;
    // Ten failures, each claiming another address: they all count for 127.0.0.1.
    for (let i = 1; i <= 10; i++) {
      await fail(distrusting, "127.0.0.1", ADMIN.username, 1, { "X-Forwarded-For": `198.51.100.${i}` });
    }
    expectThrottled(await getFrom("127.0.0.1", v2, ADMIN, { "X-Forwarded-For": "198.51.100.200" }), "TOOMANYREQUESTS");
    const logged = await throttledLogLines(distrusting);
    expect(logged.length).toBeGreaterThan(0);
    for (const entry of logged) {
      expect(entry.remote).toBe("127.0.0.1");
      expect(entry.peer).toBeUndefined();
    }
  });
});
