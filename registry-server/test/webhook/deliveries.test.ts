// Webhook deliveries end to end: a receiver on 127.0.0.1 gets, for real pushes, pulls and deletes
// through /v2 and for the other event types published on the bus, one POST per event and policy,
// in Harbor's Default and CloudEvents formats (checked field by field), with the policy's auth
// header, and Harbor's Slack message; a delivery answered 500 is tried again and recorded in the
// task log; a receiver that never answers does not make pushes slower.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryEvents, type RegistryEvent } from "../../src/events/registry-events.ts";
import { createLogger } from "../../src/logger.ts";
import { HarborClient, expectCreatedEmpty } from "../api/harbor-client.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { WebhookReceiver, type ReceivedRequest } from "./webhook-receiver.ts";

const ALL_TYPES = [
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
];
const AUTH = "Bearer deliveries-secret-42";

interface DefaultPayload {
  type: string;
  occur_at: number;
  operator: string;
  event_data: Record<string, unknown>;
}

function json<T>(request: ReceivedRequest): T {
  return JSON.parse(request.body) as T;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe("webhook deliveries", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let client: OciClient;
  let projectId: number;
  let host: string;
  const receiver = new WebhookReceiver();
  const bus = new RegistryEvents(createLogger("fatal"));

  beforeAll(async () => {
    await receiver.start();
    registry = await startTestRegistry({}, { events: bus });
    api = new HarborClient(registry.url);
    client = new OciClient(registry.url);
    host = new URL(registry.url).host;
    projectId = await api.createProject("deliv", false);
  });
  afterAll(async () => {
    await registry.stop();
    await receiver.stop();
  });

  async function policy(project: string, body: Record<string, unknown>): Promise<number> {
    const reply = await api.call("POST", `/projects/${project}/webhook/policies`, { body: { enabled: true, ...body } });
    return expectCreatedEmpty(reply, "/webhook/policies/");
  }

  it("delivers each event type once per policy, in Harbor's Default and CloudEvents formats", async () => {
    await policy("deliv", {
      name: "default",
      event_types: ALL_TYPES,
      targets: [{ type: "http", address: `${receiver.url}/ok/default`, auth_header: AUTH }],
    });
    const cloudId = await policy("deliv", {
      name: "cloud",
      event_types: ALL_TYPES,
      targets: [{ type: "http", address: `${receiver.url}/ok/cloud`, payload_format: "CloudEvents" }],
    });
    await policy("deliv", {
      name: "chat",
      event_types: ["PUSH_ARTIFACT"],
      targets: [{ type: "slack", address: `${receiver.url}/ok/slack` }],
    });

    // Real pushes, pulls and deletes through /v2.
    const before = Math.floor(Date.now() / 1000);
    const { digest } = await client.pushImage("deliv/app", "v1");
    expect((await client.request("GET", "/v2/deliv/app/manifests/v1")).status).toBe(200);
    expect((await client.request("DELETE", `/v2/deliv/app/manifests/${digest}`)).status).toBe(202);
    // The rest, as their publishers put them on the bus.
    const common = { occurredAt: new Date(), operator: "admin" };
    const artifact = {
      repository: "deliv/app",
      digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 1,
      tags: ["v1"],
    };
    const others: RegistryEvent[] = [
      { ...common, type: "QUOTA_EXCEED", projectName: "deliv", repository: "deliv/app", digest, details: "over" },
      { ...common, type: "QUOTA_WARNING", projectName: "deliv", repository: "deliv/app", details: "near" },
      { ...common, type: "SCANNING_FAILED", artifact, executionId: 1 },
      { ...common, type: "SCANNING_STOPPED", artifact, executionId: 2 },
      { ...common, type: "SCANNING_COMPLETED", artifact, executionId: 3, scanOverview: { "x/y": { severity: "Low" } } },
      {
        ...common,
        type: "REPLICATION",
        policyId: 1,
        policyName: "p",
        policyCreator: "admin",
        executionId: 4,
        trigger: "manual",
        override: false,
        startedAt: new Date(),
        source: { registryName: "", registryType: "harbor", endpoint: registry.url, namespace: "deliv" },
        destination: {
          registryName: "dr",
          registryType: "docker-registry",
          endpoint: "https://dr.example",
          namespace: "x",
        },
        artifact: { type: "image", nameTag: "app:v1", status: "Success" },
      },
      {
        ...common,
        type: "TAG_RETENTION",
        projectId,
        projectName: "deliv",
        policyId: 0,
        executionId: 5,
        status: "SUCCESS",
        total: 1,
        retained: 0,
        deleted: [{ repository: "deliv/app", digest, tags: ["v1"] }],
      },
    ];
    for (const event of others) bus.publish(event);

    const defaults = await receiver.waitFor("/ok/default", ALL_TYPES.length);
    const clouds = await receiver.waitFor("/ok/cloud", ALL_TYPES.length);
    const slack = await receiver.waitFor("/ok/slack", 1);
    // Nothing more comes: each event once.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.to("/ok/default")).toHaveLength(ALL_TYPES.length);
    expect(receiver.to("/ok/cloud")).toHaveLength(ALL_TYPES.length);
    expect(receiver.to("/ok/slack")).toHaveLength(1);

    const byType = new Map(defaults.map((request) => [json<DefaultPayload>(request).type, request]));
    expect([...byType.keys()].sort()).toEqual([...ALL_TYPES].sort());
    for (const request of defaults) {
      expect(request.method).toBe("POST");
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["authorization"]).toBe(AUTH);
    }

    // The push, field by field (artifact.go's payload).
    const push = json<DefaultPayload>(byType.get("PUSH_ARTIFACT") as ReceivedRequest);
    expect(Object.keys(push)).toEqual(["type", "occur_at", "operator", "event_data"]);
    expect(push.occur_at).toBeGreaterThanOrEqual(before);
    expect(push.occur_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(push.operator).toBe("admin");
    const repository = (push.event_data["repository"] ?? {}) as Record<string, unknown>;
    expect(push.event_data).toEqual({
      resources: [{ digest, tag: "v1", resource_url: `${host}/deliv/app:v1` }],
      repository: {
        date_created: repository["date_created"],
        name: "app",
        namespace: "deliv",
        repo_full_name: "deliv/app",
        repo_type: "private",
      },
    });
    expect(repository["date_created"]).toBeGreaterThanOrEqual(before);
    const pull = json<DefaultPayload>(byType.get("PULL_ARTIFACT") as ReceivedRequest);
    expect(pull.event_data["resources"]).toEqual([{ digest, tag: "v1", resource_url: `${host}/deliv/app:v1` }]);
    const deleted = json<DefaultPayload>(byType.get("DELETE_ARTIFACT") as ReceivedRequest);
    expect((deleted.event_data["resources"] as Array<{ digest: string }>)[0]?.digest).toBe(digest);
    const quota = json<DefaultPayload>(byType.get("QUOTA_EXCEED") as ReceivedRequest);
    expect(quota.event_data["custom_attributes"]).toEqual({ Details: "over" });
    const scan = json<DefaultPayload>(byType.get("SCANNING_COMPLETED") as ReceivedRequest);
    expect(scan.event_data["scan"]).toEqual({ scan_type: "vulnerability" });
    const retention = json<DefaultPayload>(byType.get("TAG_RETENTION") as ReceivedRequest);
    expect(retention.event_data["retention"]).toMatchObject({
      total: 1,
      retained: 0,
      project_name: "deliv",
      result: "SUCCESS",
      deleted_artifact: [{ type: "image", status: "SUCCESS", name_tag: "app:v1" }],
    });

    // CloudEvents: the same data under Harbor's attributes, one id per delivery.
    const ids = new Set<string>();
    for (const request of clouds) {
      expect(request.headers["content-type"]).toBe("application/cloudevents+json");
      expect(request.headers["authorization"]).toBeUndefined();
      const event = json<Record<string, unknown>>(request);
      expect(event["specversion"]).toBe("1.0");
      expect(event["source"]).toBe(`/projects/${projectId}/webhook/policies/${cloudId}`);
      expect(event["datacontenttype"]).toBe("application/json");
      expect(event["id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(event["requestid"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(event["operator"]).toBe("admin");
      ids.add(String(event["id"]));
      const type = ALL_TYPES.find((t) => `harbor.${cloudType(t)}` === event["type"]);
      expect(type, String(event["type"])).toBeDefined();
      const defaultPayload = json<DefaultPayload>(byType.get(type ?? "") as ReceivedRequest);
      expect(event["data"]).toEqual(defaultPayload.event_data);
      expect(event["time"]).toBe(new Date(defaultPayload.occur_at * 1000).toISOString().replace(".000Z", "Z"));
    }
    expect(ids.size).toBe(ALL_TYPES.length);

    // Slack: Harbor's blocks, no auth header.
    const message = json<{ blocks: Array<{ text: { text: string } }> }>(slack[0] as ReceivedRequest);
    expect(slack[0]?.headers["content-type"]).toBe("application/json");
    expect(message.blocks.map((block) => block.text.text).slice(0, 2)).toEqual([
      "*Harbor webhook events*",
      "*event_type:* PUSH_ARTIFACT",
    ]);
    expect(message.blocks[5]?.text.text).toContain(`"repo_full_name": "deliv/app"`);
  });

  it("tries a delivery answered 500 again and records each attempt in the task log", async () => {
    await api.createProject("flaky", false);
    const id = await policy("flaky", {
      name: "flaky",
      event_types: ["PUSH_ARTIFACT"],
      targets: [{ type: "http", address: `${receiver.url}/fail-once/flaky` }],
    });
    await client.pushImage("flaky/app", "v1");
    const attempts = await receiver.waitFor("/fail-once/flaky", 2, 40_000);
    expect(attempts[0]?.body).toBe(attempts[1]?.body);

    const base = `/projects/flaky/webhook/policies/${id}/executions`;
    let execution: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && execution?.["status"] !== "Success"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      execution = ((await api.get(base)).json as Array<Record<string, unknown>>)[0];
    }
    expect(execution).toMatchObject({
      vendor_type: "WEBHOOK",
      vendor_id: id,
      status: "Success",
      trigger: "EVENT",
      extra_attrs: { event_type: "PUSH_ARTIFACT" },
      metrics: { task_count: 1, success_task_count: 1 },
    });
    const tasks = (await api.get(`${base}/${String(execution?.["id"])}/tasks`)).json as Array<Record<string, unknown>>;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: "Success", run_count: 2 });
    const log = await api.get(`${base}/${String(execution?.["id"])}/tasks/${String(tasks[0]?.["id"])}/log`);
    expect(log.status).toBe(200);
    expect(log.text).toMatch(/attempt 1: POST http:\/\/127\.0\.0\.1:\d+\/fail-once\/flaky/);
    expect(log.text).toMatch(/abnormal response code: 500, body: receiver down for a moment \(after \d+ ms\)/);
    expect(log.text).toMatch(/attempt 2: 200 after \d+ ms/);
    // The deprecated jobs listing shows the same delivery as Harbor's WebhookJob.
    const jobs = await api.get(`/projects/flaky/webhook/jobs?policy_id=${id}&status=Success`);
    expect(jobs.status, jobs.text).toBe(200);
    expect(jobs.json).toEqual([
      {
        id: execution?.["id"],
        policy_id: id,
        event_type: "PUSH_ARTIFACT",
        notify_type: "http",
        status: "Success",
        job_detail: attempts[0]?.body,
        creation_time: expect.any(String) as unknown,
        update_time: expect.any(String) as unknown,
      },
    ]);
    expect((await api.get(`/projects/flaky/webhook/jobs?policy_id=${id}&status=Error`)).json).toEqual([]);
  }, 60_000);

  it("lets a receiver that never answers slow no push", async () => {
    await api.createProject("slow", false);
    const pushes = async (from: number): Promise<number[]> => {
      const took: number[] = [];
      for (let i = from; i < from + 8; i++) {
        const started = performance.now();
        await client.pushImage("slow/app", `t${i}`, { layer: "shared layer" });
        took.push(performance.now() - started);
      }
      return took;
    };
    await pushes(100); // warm up
    const without = await pushes(0);
    const id = await policy("slow", {
      name: "dead",
      event_types: ["PUSH_ARTIFACT"],
      targets: [{ type: "http", address: `${receiver.url}/hang/dead` }],
    });
    await client.pushImage("slow/app", "first");
    await receiver.waitFor("/hang/dead", 1, 10_000);
    const since = Date.now();
    const withHang = await pushes(10);
    // The receiver was being called (and kept hanging) while those pushes ran.
    expect(receiver.to("/hang/dead").some((request) => request.at >= since - 3_000)).toBe(true);
    expect(median(withHang)).toBeLessThan(median(without) * 3 + 250);
    expect(Math.max(...withHang)).toBeLessThan(2_500);

    // The hung delivery ends on Harbor's 3 s deadline, recorded in the task log.
    const base = `/projects/slow/webhook/policies/${id}/executions`;
    let log = "";
    for (let i = 0; i < 150 && !log.includes("error to send request"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [execution] = (await api.get(`${base}?page_size=100`)).json as Array<{ id: number }>;
      const listed = execution ? (await api.get(`${base}/${execution.id}/tasks`)).json : [];
      const [task] = (Array.isArray(listed) ? listed : []) as Array<{ id: number }>;
      if (execution && task) log = (await api.get(`${base}/${execution.id}/tasks/${task.id}/log`)).text;
    }
    expect(log).toMatch(/error to send request: .*\(after \d+ ms\)/);
  }, 90_000);
});

function cloudType(type: string): string {
  const names: Record<string, string> = {
    PUSH_ARTIFACT: "artifact.pushed",
    PULL_ARTIFACT: "artifact.pulled",
    DELETE_ARTIFACT: "artifact.deleted",
    QUOTA_EXCEED: "quota.exceeded",
    QUOTA_WARNING: "quota.warned",
    SCANNING_FAILED: "scan.failed",
    SCANNING_STOPPED: "scan.stopped",
    SCANNING_COMPLETED: "scan.completed",
    REPLICATION: "replication.status.changed",
    TAG_RETENTION: "tag_retention.finished",
  };
  return names[type] ?? "";
}
