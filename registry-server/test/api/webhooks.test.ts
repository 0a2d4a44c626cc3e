// Contract tests of Harbor's webhook policies API (/api/v2.0/projects/{p}/webhook/…) against the
// swagger's WebhookPolicy, SupportedWebhookEventTypes and WebhookLastTrigger and Harbor's handler
// (src/server/v2.0/handler/webhook.go): creation, reading, listing with q/sort/paging, replacing,
// deleting, Harbor's refusals and messages, the notification-policy permission by role and robot,
// and the auth header sealed at rest.

import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryEvents } from "../../src/events/registry-events.ts";
import { createLogger } from "../../src/logger.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import {
  expectCreatedEmpty,
  expectError,
  HarborClient,
  links,
  projectPermissions,
  RFC3339,
  type Credentials,
} from "./harbor-client.ts";

const SECRET = "Bearer Webhook-Secret-Very-Distinctive-91";
const ADMIN_OF_PROJECT: Credentials = { username: "hook-admin", password: "Hook-admin-password1" };
const MAINTAINER: Credentials = { username: "hook-maint", password: "Hook-maint-password1" };
const DEVELOPER: Credentials = { username: "hook-dev", password: "Hook-dev-password1" };

interface PolicyJson {
  id: number;
  name: string;
  description: string;
  project_id: number;
  targets: Array<{
    type: string;
    address: string;
    auth_header: string;
    skip_cert_verify: boolean;
    payload_format: string;
  }>;
  event_types: string[];
  creator: string;
  creation_time: string;
  update_time: string;
  enabled: boolean;
}

function body(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    description: `${name} hooks`,
    enabled: true,
    event_types: ["PUSH_ARTIFACT", "PULL_ARTIFACT"],
    targets: [{ type: "http", address: "https://ci.example/hook", auth_header: SECRET, skip_cert_verify: true }],
    ...extra,
  };
}

describe("Harbor webhook policies API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let projectId: number;
  const bus = new RegistryEvents(createLogger("fatal"));
  const base = "/projects/hooks/webhook";

  beforeAll(async () => {
    registry = await startTestRegistry({}, { events: bus });
    api = new HarborClient(registry.url);
    projectId = await api.createProject("hooks", false);
    await api.createProject("other", false);
    for (const [user, role] of [
      [ADMIN_OF_PROJECT, 1],
      [MAINTAINER, 4],
      [DEVELOPER, 2],
    ] as const) {
      await api.createUser(user.username, user.password);
      await api.addMember("hooks", user.username, role);
    }
  });
  afterAll(() => registry.stop());

  async function create(name: string, extra: Record<string, unknown> = {}, auth?: Credentials): Promise<number> {
    const reply = await api.call("POST", `${base}/policies`, { body: body(name, extra), ...(auth && { auth }) });
    return expectCreatedEmpty(reply, `/api/v2.0${base}/policies/`);
  }

  async function get(id: number, project = "hooks"): Promise<PolicyJson> {
    const reply = await api.get(`/projects/${project}/webhook/policies/${id}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as PolicyJson;
  }

  it("creates a policy (201, Location, empty body) and shows it as Harbor does, auth header included", async () => {
    const id = await create("ci");
    const policy = await get(id);
    expect(policy).toEqual({
      id,
      name: "ci",
      description: "ci hooks",
      project_id: projectId,
      targets: [
        {
          type: "http",
          address: "https://ci.example/hook",
          auth_header: SECRET,
          skip_cert_verify: true,
          // Harbor's default for http.
          payload_format: "Default",
        },
      ],
      event_types: ["PUSH_ARTIFACT", "PULL_ARTIFACT"],
      creator: "admin",
      creation_time: expect.stringMatching(RFC3339) as unknown,
      update_time: expect.stringMatching(RFC3339) as unknown,
      enabled: true,
    });
    // By project id as well as by name; by name with X-Is-Resource-Name.
    expect((await get(id, String(projectId))).name).toBe("ci");
  });

  it("keeps the auth header sealed at rest", async () => {
    await create("sealed");
    const files = readdirSync(registry.dataDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && /\.db(-wal)?$/.test(entry.name))
      .map((entry) => path.join(entry.parentPath, entry.name));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(readFileSync(file).includes(Buffer.from("Webhook-Secret-Very"))).toBe(false);
    }
    expect(registry.logs.join("\n")).not.toContain("Webhook-Secret-Very");
  });

  it("takes Harbor's zero values for what the body leaves out: disabled, no description", async () => {
    const reply = await api.call("POST", `${base}/policies`, {
      body: {
        name: "bare",
        event_types: ["QUOTA_EXCEED"],
        targets: [{ type: "slack", address: "hooks.slack.example/x" }],
      },
    });
    const policy = await get(expectCreatedEmpty(reply, "/webhook/policies/"));
    expect(policy.enabled).toBe(false);
    expect(policy.description).toBe("");
    // A bare host is Harbor's http://; slack has no payload format.
    expect(policy.targets).toEqual([
      {
        type: "slack",
        address: "http://hooks.slack.example/x",
        auth_header: "",
        skip_cert_verify: false,
        payload_format: "",
      },
    ]);
  });

  it("refuses what Harbor's handler refuses, with its messages", async () => {
    const refused = async (extra: Record<string, unknown>, message: RegExp): Promise<void> => {
      expectError(
        await api.call("POST", `${base}/policies`, { body: body("bad", extra) }),
        400,
        "BAD_REQUEST",
        message,
      );
    };
    await refused({ event_types: [] }, /^empty event type$/);
    await refused({ event_types: ["PUSH_ARTIFACT", "PUSH_IMAGE"] }, /unsupported event type PUSH_IMAGE/);
    await refused({ targets: [] }, /empty notification target with policy bad/);
    await refused({ targets: [{ type: "http", address: "ftp://x.example" }] }, /invalid scheme: ftp/);
    await refused({ targets: [{ type: "http", address: "" }] }, /empty URL/);
    await refused({ targets: [{ type: "email", address: "https://x.example" }] }, /unsupported target type email/);
    await refused(
      { targets: [{ type: "slack", address: "https://x.example", payload_format: "CloudEvents" }] },
      /set payload format is not allowed for slack/,
    );
    await refused(
      { targets: [{ type: "http", address: "https://x.example", payload_format: "Xml" }] },
      /unsupported payload format type: Xml/,
    );
    expectError(await api.call("POST", `${base}/policies`, { body: "{" }), 400, "BAD_REQUEST");
  });

  it("refuses a name the project has (409), on create and on update, not one of another project", async () => {
    await create("dup");
    expectError(
      await api.call("POST", `${base}/policies`, { body: body("dup") }),
      409,
      "CONFLICT",
      /notification policy named dup already exists/,
    );
    const other = await api.call("POST", "/projects/other/webhook/policies", { body: body("dup") });
    expect(other.status, other.text).toBe(201);
    const second = await create("dup-2");
    expectError(await api.call("PUT", `${base}/policies/${second}`, { body: body("dup") }), 409, "CONFLICT");
  });

  it("replaces a policy with PUT, keeping its creator and creation time", async () => {
    const id = await create("replace-me");
    const before = await get(id);
    const reply = await api.call("PUT", `${base}/policies/${id}`, {
      body: {
        name: "replaced",
        enabled: false,
        event_types: ["TAG_RETENTION"],
        targets: [{ type: "http", address: "http://new.example/x", payload_format: "CloudEvents" }],
      },
    });
    expect(reply.status, reply.text).toBe(200);
    const after = await get(id);
    expect(after).toMatchObject({
      name: "replaced",
      description: "",
      enabled: false,
      event_types: ["TAG_RETENTION"],
      targets: [{ type: "http", address: "http://new.example/x", auth_header: "", payload_format: "CloudEvents" }],
      creator: before.creator,
      creation_time: before.creation_time,
    });
  });

  it("lists newest first with X-Total-Count, Link, q and sort", async () => {
    const listed = await api.get(`${base}/policies?page_size=2`);
    expect(listed.status, listed.text).toBe(200);
    const total = Number(listed.headers.get("x-total-count"));
    expect(total).toBeGreaterThanOrEqual(6);
    const items = listed.json as PolicyJson[];
    expect(items).toHaveLength(2);
    expect(items[0]?.id).toBeGreaterThan(items[1]?.id ?? Infinity);
    expect(links(listed)["next"]).toContain("page=2");
    const byName = await api.get(`${base}/policies?q=name%3D~dup&sort=name`);
    expect((byName.json as PolicyJson[]).map((p) => p.name)).toEqual(["dup", "dup-2"]);
    const disabled = await api.get(`${base}/policies?q=enabled%3Dfalse`);
    expect((disabled.json as PolicyJson[]).every((p) => !p.enabled)).toBe(true);
    expect((disabled.json as PolicyJson[]).length).toBeGreaterThanOrEqual(2);
  });

  it("deletes a policy (200), then answers 404 for it; another project's policy is a 404 too", async () => {
    const id = await create("doomed");
    const foreign = (await api.get("/projects/other/webhook/policies")).json as PolicyJson[];
    expectError(await api.get(`${base}/policies/${foreign[0]?.id ?? 0}`), 404, "NOT_FOUND", /webhook policy id/);
    const reply = await api.call("DELETE", `${base}/policies/${id}`);
    expect(reply.status, reply.text).toBe(200);
    expectError(await api.get(`${base}/policies/${id}`), 404, "NOT_FOUND");
    expectError(await api.call("DELETE", `${base}/policies/${id}`), 404, "NOT_FOUND");
  });

  it("tells the supported event types, notify types and payload formats", async () => {
    const reply = await api.get(`${base}/events`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      event_type: [
        "PUSH_ARTIFACT",
        "PULL_ARTIFACT",
        "DELETE_ARTIFACT",
        "QUOTA_EXCEED",
        "QUOTA_WARNING",
        "SCANNING_FAILED",
        "SCANNING_STOPPED",
        "SCANNING_COMPLETED",
        "REPLICATION",
        "TAG_RETENTION",
      ],
      notify_type: ["http", "slack"],
      payload_formats: [{ notify_type: "http", formats: ["Default", "CloudEvents"] }],
    });
  });

  it("tells each policy's last trigger per event type, Go's zero time before the first", async () => {
    const id = await create("triggered", { event_types: ["PUSH_ARTIFACT", "DELETE_ARTIFACT"] });
    const before = (await api.get(`${base}/lasttrigger`)).json as Array<Record<string, unknown>>;
    expect(before.filter((entry) => entry["policy_name"] === "triggered")).toEqual([
      {
        policy_name: "triggered",
        event_type: "PUSH_ARTIFACT",
        enabled: true,
        creation_time: (await get(id)).creation_time,
        last_trigger_time: "0001-01-01T00:00:00.000Z",
      },
      expect.objectContaining({ event_type: "DELETE_ARTIFACT", last_trigger_time: "0001-01-01T00:00:00.000Z" }),
    ]);
    const at = Date.now();
    bus.publish({
      type: "PUSH_ARTIFACT",
      occurredAt: new Date(),
      operator: "admin",
      artifact: { repository: "hooks/app", digest: `sha256:${"a".repeat(64)}`, mediaType: "x", size: 1, tags: [] },
    });
    const last = async (eventType: string): Promise<unknown> => {
      const after = (await api.get(`${base}/lasttrigger`)).json as Array<Record<string, unknown>>;
      return after.find((entry) => entry["policy_name"] === "triggered" && entry["event_type"] === eventType)?.[
        "last_trigger_time"
      ];
    };
    for (let i = 0; i < 100 && (await last("PUSH_ARTIFACT")) === "0001-01-01T00:00:00.000Z"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(Date.parse(String(await last("PUSH_ARTIFACT")))).toBeGreaterThanOrEqual(at - 1000);
    expect(await last("DELETE_ARTIFACT")).toBe("0001-01-01T00:00:00.000Z");
  });

  describe("permissions (Harbor's notification-policy)", () => {
    it("lets a project administrator do everything", async () => {
      const id = await create("by-project-admin", {}, ADMIN_OF_PROJECT);
      const policy = await get(id);
      expect(policy.creator).toBe(ADMIN_OF_PROJECT.username);
      expect((await api.get(`${base}/policies/${id}`, ADMIN_OF_PROJECT)).status).toBe(200);
      expect((await api.get(`${base}/events`, ADMIN_OF_PROJECT)).status).toBe(200);
      expect((await api.call("DELETE", `${base}/policies/${id}`, { auth: ADMIN_OF_PROJECT })).status).toBe(200);
    });

    it("lets a maintainer list, and nothing else", async () => {
      expect((await api.get(`${base}/policies`, MAINTAINER)).status).toBe(200);
      const [first] = (await api.get(`${base}/policies`)).json as PolicyJson[];
      expectError(await api.get(`${base}/policies/${first?.id ?? 0}`, MAINTAINER), 403, "FORBIDDEN");
      expectError(await api.get(`${base}/lasttrigger`, MAINTAINER), 403, "FORBIDDEN");
      expectError(await api.call("POST", `${base}/policies`, { auth: MAINTAINER, body: body("m") }), 403, "FORBIDDEN");
    });

    it("refuses a developer, and anonymous callers", async () => {
      expectError(await api.get(`${base}/policies`, DEVELOPER), 403, "FORBIDDEN");
      expectError(await api.get(`${base}/events`, DEVELOPER), 403, "FORBIDDEN");
      expectError(await api.get(`${base}/policies`, null), 401, "UNAUTHORIZED");
    });

    it("lets a project robot holding notification-policy permissions act", async () => {
      const robot = await api.createRobot({
        name: "hooker",
        level: "project",
        duration: -1,
        permissions: projectPermissions("hooks", [
          ["notification-policy", "create"],
          ["notification-policy", "list"],
        ]),
      });
      const auth = { username: robot.name, password: robot.secret };
      expect((await api.get(`${base}/policies`, auth)).status).toBe(200);
      await create("by-robot", {}, auth);
      expectError(await api.get(`${base}/events`, auth), 403, "FORBIDDEN");
    });
  });
});
