// The events webhooks get from the registry's own work, delivered to a receiver on 127.0.0.1: a
// push refused for the project's quota (QUOTA_EXCEED) and one taking usage past 70% of it
// (QUOTA_WARNING); the end of a vulnerability scan by an adapter (SCANNING_COMPLETED with the
// overview, SCANNING_FAILED, SCANNING_STOPPED); a retention run that deleted artifacts
// (TAG_RETENTION), and none for its dry run.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCreatedEmpty, HarborClient } from "../api/harbor-client.ts";
import { pushRichImage } from "../api/artifact-fixture.ts";
import { OciClient, sha256 } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { FakeScannerAdapter, type ScanAnswer } from "../scan/fake-scanner-adapter.ts";
import { WebhookReceiver, type ReceivedRequest } from "./webhook-receiver.ts";

const VULNERABILITY_REPORT = "application/vnd.security.vulnerability.report; version=1.1";

interface Payload {
  type: string;
  operator: string;
  event_data: Record<string, unknown>;
}

function payload(request: ReceivedRequest | undefined): Payload {
  return JSON.parse(request?.body ?? "{}") as Payload;
}

describe("events the registry publishes, as webhooks", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  const receiver = new WebhookReceiver();
  const adapter = new FakeScannerAdapter();
  const answers = new Map<string, ScanAnswer>();

  beforeAll(async () => {
    await receiver.start();
    await adapter.start();
    adapter.pendingPolls = 0;
    adapter.refreshAfter = 1;
    adapter.answer = (accepted) => answers.get(accepted.request.artifact.repository);
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
  });
  afterAll(async () => {
    await registry?.stop();
    await adapter.stop();
    await receiver.stop();
  });

  async function hooked(project: string, eventTypes: string[]): Promise<number> {
    const projectId = await api.createProject(project, false);
    const reply = await api.call("POST", `/projects/${project}/webhook/policies`, {
      body: {
        name: "all",
        enabled: true,
        event_types: eventTypes,
        targets: [{ type: "http", address: `${receiver.url}/ok/${project}` }],
      },
    });
    expectCreatedEmpty(reply, "/webhook/policies/");
    return projectId;
  }

  it("tells of a push past 70% of the quota, then of one refused for it", async () => {
    const projectId = await hooked("quota-hooks", ["QUOTA_EXCEED", "QUOTA_WARNING"]);
    expect((await api.call("PUT", `/quotas/${projectId}`, { body: { hard: { storage: 10_000 } } })).status).toBe(200);
    const small = randomBytes(3_000);
    expect(
      (await oci.request("POST", `/v2/quota-hooks/app/blobs/uploads/?digest=${sha256(small)}`, { body: small })).status,
    ).toBe(201);
    // 3,000 of 10,000: no warning yet.
    const near = randomBytes(5_000);
    expect(
      (await oci.request("POST", `/v2/quota-hooks/app/blobs/uploads/?digest=${sha256(near)}`, { body: near })).status,
    ).toBe(201);
    const big = randomBytes(5_000);
    const over = await oci.request("POST", `/v2/quota-hooks/app/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    expect(over.status).toBe(403);

    const received = await receiver.waitFor("/ok/quota-hooks", 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.to("/ok/quota-hooks")).toHaveLength(2);
    const warning = received.map(payload).find((p) => p.type === "QUOTA_WARNING");
    const exceeded = received.map(payload).find((p) => p.type === "QUOTA_EXCEED");
    expect(warning?.event_data).toEqual({
      resources: [{ digest: sha256(near) }],
      repository: { name: "app", namespace: "quota-hooks", repo_full_name: "quota-hooks/app", repo_type: "private" },
      custom_attributes: {
        Details:
          "adding 4.88 KiB of storage resource brings the current usage to 7.81 KiB, past 70% of the configured upper limit of 9.77 KiB.",
      },
    });
    expect(exceeded?.event_data).toEqual({
      resources: [{ digest: sha256(big) }],
      repository: { name: "app", namespace: "quota-hooks", repo_full_name: "quota-hooks/app", repo_type: "private" },
      custom_attributes: {
        Details:
          "adding 4.88 KiB of storage resource, which when updated to current usage of 7.81 KiB will exceed the configured upper limit of 9.77 KiB.",
      },
    });
  });

  it("tells of a scan completed with its overview, of one failed and of one stopped", async () => {
    await hooked("scan-hooks", ["SCANNING_COMPLETED", "SCANNING_FAILED", "SCANNING_STOPPED"]);
    const registered = await api.call("POST", "/scanners", { body: { name: "fake", url: adapter.url } });
    expect(registered.status, registered.text).toBe(201);
    const { digest } = await pushRichImage(oci, "scan-hooks/good", "v1", { seed: "good" });
    await pushRichImage(oci, "scan-hooks/bad", "v1", { seed: "bad" });
    await pushRichImage(oci, "scan-hooks/slow", "v1", { seed: "slow" });
    answers.set("scan-hooks/bad", { error: "the scanner choked" });
    answers.set("scan-hooks/slow", "never");
    const scan = (repository: string, action = "scan") =>
      api.call("POST", `/projects/scan-hooks/repositories/${repository}/artifacts/v1/${action}`);

    expect((await scan("good")).status).toBe(202);
    const [completed] = await receiver.waitFor("/ok/scan-hooks", 1);
    const good = payload(completed);
    expect(good.type).toBe("SCANNING_COMPLETED");
    const [resource] = good.event_data["resources"] as Array<Record<string, unknown>>;
    expect(resource).toMatchObject({
      digest,
      tag: "v1",
      resource_url: `${new URL(registry.url).host}/scan-hooks/good:v1`,
    });
    const overview = (resource?.["scan_overview"] as Record<string, Record<string, unknown>>)[VULNERABILITY_REPORT];
    expect(overview).toMatchObject({ scan_status: "Success", severity: "High" });
    expect(good.event_data["scan"]).toEqual({ scan_type: "vulnerability" });

    expect((await scan("bad")).status).toBe(202);
    const failed = payload((await receiver.waitFor("/ok/scan-hooks", 2))[1]);
    expect(failed.type).toBe("SCANNING_FAILED");

    const before = adapter.scans.length;
    expect((await scan("slow")).status).toBe(202);
    for (let i = 0; i < 100 && adapter.scans.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await scan("slow", "scan/stop")).status).toBe(202);
    const stopped = payload((await receiver.waitFor("/ok/scan-hooks", 3))[2]);
    expect(stopped.type).toBe("SCANNING_STOPPED");
    expect((stopped.event_data["repository"] as Record<string, unknown>)["repo_full_name"]).toBe("scan-hooks/slow");
  }, 60_000);

  it("tells of a retention run that deleted artifacts, not of its dry run", async () => {
    const projectId = await hooked("retain-hooks", ["TAG_RETENTION"]);
    await oci.pushImage("retain-hooks/app", "old");
    await new Promise((resolve) => setTimeout(resolve, 20));
    await oci.pushImage("retain-hooks/app", "new");
    const rule = {
      disabled: false,
      action: "retain",
      template: "latestPushedK",
      params: { latestPushedK: 1 },
      tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**" }],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    };
    const created = await api.call("POST", "/retentions", {
      body: {
        algorithm: "or",
        rules: [rule],
        trigger: { kind: "Schedule", settings: { cron: "" } },
        scope: { level: "project", ref: projectId },
      },
    });
    const policyId = expectCreatedEmpty(created, "/retentions/");
    const run = async (dryRun: boolean): Promise<void> => {
      const started = await api.call("POST", `/retentions/${policyId}/executions`, { body: { dry_run: dryRun } });
      expect(started.status, started.text).toBe(201);
      const location = started.headers.get("location") ?? "";
      for (let i = 0; i < 200; i++) {
        const executions = (await api.get(`/retentions/${policyId}/executions`)).json as Array<{
          id: number;
          status: string;
        }>;
        const mine = executions.find((e) => location.endsWith(`/${e.id}`));
        if (mine && ["Success", "Error", "Stopped"].includes(mine.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("the retention run did not end");
    };
    await run(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.to("/ok/retain-hooks")).toEqual([]);
    await run(false);
    const [request] = await receiver.waitFor("/ok/retain-hooks", 1);
    const retention = payload(request);
    expect(retention.type).toBe("TAG_RETENTION");
    expect(retention.operator).toBe("MANUAL");
    expect(retention.event_data["retention"]).toEqual({
      total: 2,
      retained: 1,
      harbor_hostname: "127.0.0.1",
      project_name: "retain-hooks",
      retention_policy_id: policyId,
      retention_rule: [
        {
          template: "latestPushedK",
          params: { latestPushedK: 1 },
          tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: "" }],
          scope_selectors: {
            repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**", extras: "" }],
          },
        },
      ],
      result: "SUCCESS",
      deleted_artifact: [{ type: "image", status: "SUCCESS", name_tag: "app:old" }],
    });
  }, 60_000);
});
