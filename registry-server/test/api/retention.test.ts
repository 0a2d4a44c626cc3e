// Harbor's retention API as its clients drive it: the metadatas, a policy's life (create with
// Harbor's checks and 201 + Location, one per project with retention_id in the project's metadata,
// get, PUT that replaces every rule, delete), a dry run that deletes nothing but says what would
// go, then the real run (a task per repository with Harbor's table in its log), the bytes that
// garbage collection will free, immutable tags kept whatever the rules say, and who may do what.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { runGc } from "../gc/gc-load.ts";
import { expectError, HarborClient, idFromLocation } from "./harbor-client.ts";

const DEVELOPER = { username: "dev", password: "Dev-pass-123" };
const GUEST = { username: "guest", password: "Guest-pass-12" };

interface Execution {
  id: number;
  policy_id: number;
  status: string;
  trigger: string;
  dry_run: boolean;
}

interface Task {
  id: number;
  execution_id: number;
  repository: string;
  status: string;
  total: number;
  retained: number;
}

function rule(template: string, params: Record<string, unknown>, pattern = "**", extra: Record<string, unknown> = {}) {
  return {
    disabled: false,
    action: "retain",
    template,
    params,
    tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern, extras: '{"untagged":true}' }],
    scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    ...extra,
  };
}

function policy(projectId: number, rules: unknown[], cron = "") {
  return {
    algorithm: "or",
    rules,
    trigger: { kind: "Schedule", settings: { cron } },
    scope: { level: "project", ref: projectId },
  };
}

describe("retention API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let projectId: number;

  beforeAll(async () => {
    // No grace period for garbage collection: it frees at once what retention let go.
    registry = await startTestRegistry({ gc: { timeWindowHours: 0, readGraceSeconds: 0 } });
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    projectId = await api.createProject("team", false);
    await api.createUser(DEVELOPER.username, DEVELOPER.password);
    await api.createUser(GUEST.username, GUEST.password);
    await api.addMember("team", DEVELOPER.username, ROLES.developer);
    await api.addMember("team", GUEST.username, ROLES.guest);
    // One image pushed by digest only (its tag deleted), then four tags in order; a second apart,
    // as Harbor compares push times in seconds (pushes within one second tie).
    const untagged = await oci.pushImage("team/app", "tmp", { layer: "untagged layer" });
    expect((await oci.request("DELETE", "/v2/team/app/manifests/tmp")).status).toBe(202);
    expect((await oci.request("HEAD", `/v2/team/app/manifests/${untagged.digest}`)).status).toBe(200);
    for (const tag of ["v1", "v2", "v3", "v4"]) {
      await sleep(1_050);
      await oci.pushImage("team/app", tag, { layer: `layer of ${tag}` });
    }
  });
  afterAll(() => registry.stop());

  async function run(id: number, dryRun: boolean): Promise<Execution> {
    const started = await api.call("POST", `/retentions/${id}/executions`, { body: { dry_run: dryRun } });
    expect(started.status, started.text).toBe(201);
    const executionId = idFromLocation(started, `/api/v2.0/retentions/${id}/executions/`);
    for (let round = 0; round < 200; round++) {
      const executions = (await api.get(`/retentions/${id}/executions`)).json as Execution[];
      const found = executions.find((execution) => execution.id === executionId);
      if (found && !["Pending", "Running"].includes(found.status)) return found;
      await sleep(50);
    }
    throw new Error(`execution ${executionId} did not end`);
  }

  async function tags(): Promise<string[]> {
    return ((await (await oci.request("GET", "/v2/team/app/tags/list")).json()) as { tags: string[] }).tags;
  }

  it("answers the templates and selectors Harbor's portal offers, to any signed-in user", async () => {
    const reply = await api.get("/retentions/metadatas", GUEST);
    expect(reply.status).toBe(200);
    const metadata = reply.json as { templates: Array<{ rule_template: string }>; tag_selectors: unknown[] };
    expect(metadata.templates.map((template) => template.rule_template)).toEqual([
      "latestPushedK",
      "latestPulledN",
      "nDaysSinceLastPush",
      "nDaysSinceLastPull",
      "always",
    ]);
    expect((await api.get("/retentions/metadatas", null)).status).toBe(401);
  });

  it("refuses what Harbor refuses, naming the problem", async () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => rule("latestPushedK", { latestPushedK: i }));
    expectError(
      await api.call("POST", "/retentions", { body: policy(projectId, sixteen) }),
      400,
      "BAD_REQUEST",
      /15 rules/,
    );
    expectError(
      await api.call("POST", "/retentions", { body: { ...policy(projectId, [rule("always", {})]), algorithm: "and" } }),
      400,
      "BAD_REQUEST",
      /algorithm/,
    );
    expectError(
      await api.call("POST", "/retentions", { body: policy(projectId, [rule("keepAll", {})]) }),
      400,
      "BAD_REQUEST",
      /template/,
    );
    const same = rule("latestPushedK", { latestPushedK: 1 });
    expectError(
      await api.call("POST", "/retentions", { body: policy(projectId, [same, same]) }),
      409,
      "CONFLICT",
      /conflict/,
    );
    expectError(
      await api.call("POST", "/retentions", { body: policy(9999, [same]) }),
      400,
      "BAD_REQUEST",
      /Project id 9999/,
    );
    expectError(
      await api.call("POST", "/retentions", { body: policy(projectId, [same], "0 0 * * 0") }),
      400,
      "BAD_REQUEST",
      /cron/,
    );
    expect((await api.call("POST", "/retentions", { body: policy(projectId, [same]), auth: GUEST })).status).toBe(403);
  });

  let policyId: number;

  it("creates one policy per project, pointed at by the project's retention_id", async () => {
    const reply = await api.call("POST", "/retentions", {
      body: policy(projectId, [rule("latestPushedK", { latestPushedK: 2 })], "0 0 3 * * *"),
      auth: DEVELOPER,
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.text).toBe("");
    policyId = idFromLocation(reply, "/api/v2.0/retentions/");
    const project = (await api.get("/projects/team")).json as { metadata: Record<string, string> };
    expect(project.metadata["retention_id"]).toBe(String(policyId));
    expectError(
      await api.call("POST", "/retentions", { body: policy(projectId, [rule("always", {})]) }),
      400,
      "BAD_REQUEST",
      new RegExp(`already has retention policy ${policyId}`),
    );
    const stored = (await api.get(`/retentions/${policyId}`)).json as {
      id: number;
      rules: Array<{ id: number; template: string; params: Record<string, unknown> }>;
      trigger: { settings: { cron: string } };
    };
    expect(stored.id).toBe(policyId);
    expect(stored.rules.map((each) => [each.id, each.template, each.params])).toEqual([
      [1, "latestPushedK", { latestPushedK: 2 }],
    ]);
    expect(stored.trigger.settings.cron).toBe("0 0 3 * * *");
    const schedules = (await api.get("/schedules")).json as Array<{
      vendor_type: string;
      vendor_id: number;
      cron: string;
    }>;
    expect(schedules.filter((each) => each.vendor_type === "RETENTION")).toEqual([
      expect.objectContaining({ vendor_id: policyId, cron: "0 0 3 * * *" }),
    ]);
  });

  /** The bytes an execution says garbage collection will free for what it removes (its log). */
  async function freedBytes(executionId: number): Promise<number> {
    const log = await api.get(`/jobservice/jobs/${executionId}/log`);
    const match = /garbage collection (?:would|will) free (\d+) bytes/.exec(log.text);
    if (!match) throw new Error(`no freed bytes in the log:\n${log.text}`);
    return Number(match[1]);
  }

  let promised = 0;

  it("says in a dry run what would go, and deletes nothing", async () => {
    const execution = await run(policyId, true);
    promised = await freedBytes(execution.id);
    expect(promised).toBeGreaterThan(0);
    expect(execution).toMatchObject({ policy_id: policyId, status: "Success", trigger: "MANUAL", dry_run: true });
    const tasks = (await api.get(`/retentions/${policyId}/executions/${execution.id}/tasks`)).json as Task[];
    expect(tasks.map((task) => [task.repository, task.status, task.total, task.retained])).toEqual([
      ["app", "Success", 5, 2],
    ]);
    const log = await api.get(`/retentions/${policyId}/executions/${execution.id}/tasks/${tasks[0]?.id}`);
    expect(log.status).toBe(200);
    expect(log.text.split("\n").filter((line) => line.includes("DEL (dry run)"))).toHaveLength(3);
    expect(log.text).toMatch(/v4\s+image/);
    expect(await tags()).toEqual(["v1", "v2", "v3", "v4"]);
  });

  it("removes what no rule keeps, untagged artifacts included, and reports the bytes freed", async () => {
    const execution = await run(policyId, false);
    expect(execution.status).toBe("Success");
    expect(await tags()).toEqual(["v3", "v4"]);
    const artifacts = (await api.get("/projects/team/repositories/app/artifacts")).json as unknown[];
    expect(artifacts).toHaveLength(2);
    const tasks = (await api.get(`/retentions/${policyId}/executions/${execution.id}/tasks`)).json as Task[];
    expect(tasks.map((task) => [task.total, task.retained])).toEqual([[5, 2]]);
    // What the dry run said, the run said, and garbage collection then freed, to the byte.
    expect(await freedBytes(execution.id)).toBe(promised);
    const gc = await runGc(registry.url, { delete_untagged: false });
    expect(gc.attributes).toMatchObject({ freed_space: promised });
  });

  it("keeps immutable tags whatever the rules say", async () => {
    const immutable = await api.call("POST", "/projects/team/immutabletagrules", {
      body: {
        disabled: false,
        action: "immutable",
        template: "immutable_template",
        tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "v3" }],
        scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
      },
    });
    expect(immutable.status, immutable.text).toBe(201);
    const replaced = await api.call("PUT", `/retentions/${policyId}`, {
      body: { ...policy(projectId, [rule("latestPushedK", { latestPushedK: 0 })]), id: policyId },
    });
    expect(replaced.status, replaced.text).toBe(200);
    const stored = (await api.get(`/retentions/${policyId}`)).json as { rules: unknown[]; trigger: unknown };
    expect(stored.rules).toHaveLength(1);
    // The cron went with the PUT: the schedule did too.
    const schedules = (await api.get("/schedules")).json as Array<{ vendor_type: string }>;
    expect(schedules.filter((each) => each.vendor_type === "RETENTION")).toEqual([]);
    expect((await run(policyId, false)).status).toBe("Success");
    expect(await tags()).toEqual(["v3"]);
  });

  it("stops nothing it does not know, and answers Harbor's errors for the executions", async () => {
    expectError(
      await api.call("PATCH", `/retentions/${policyId}/executions/1`, { body: { action: "pause" } }),
      400,
      "BAD_REQUEST",
      /stop/,
    );
    expect((await api.get(`/retentions/${policyId}/executions/99999/tasks`)).status).toBe(404);
    expect((await api.get(`/retentions/${policyId}/executions`, GUEST)).status).toBe(403);
  });

  it("deletes the policy, its schedule and the project's pointer to it", async () => {
    expect((await api.call("DELETE", `/retentions/${policyId}`)).status).toBe(200);
    expect((await api.get(`/retentions/${policyId}`)).status).toBe(404);
    const project = (await api.get("/projects/team")).json as { metadata: Record<string, string> };
    expect(project.metadata["retention_id"]).toBeUndefined();
    const again = await api.call("POST", "/retentions", { body: policy(projectId, [rule("always", {})]) });
    expect(again.status, again.text).toBe(201);
  });
});
