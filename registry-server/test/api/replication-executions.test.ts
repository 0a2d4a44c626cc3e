// Harbor's replication executions API over the job system. The copy engine is not this API's: a
// stand-in REPLICATION handler, given to the server, records tasks with the attributes the
// engine writes (operation, resource_type, src_resource, dst_resource) and either runs them (two
// copies succeed, one fails), holds one until it is stopped, or ends as the real handler ends an
// execution single active replication skips. What is checked: starting (201 + Location;
// Harbor's refusals), the ReplicationExecution and ReplicationTask documents with Harbor's names
// and counts, the filters and paging, a task's log, stopping, a skipped execution, and a policy
// that cannot be deleted while it runs.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobHandler } from "../../src/jobs/job-service.ts";
import { SKIPPED_MESSAGE } from "../../src/replication/replication-job.ts";
import { REPLICATION_VENDOR } from "../../src/replication/replication-policy.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { expectCreatedEmpty, expectError, HarborClient, RFC3339, type ApiReply } from "./harbor-client.ts";

const ZERO_TIME = "0001-01-01T00:00:00.000Z";

interface ExecutionJson {
  id: number;
  policy_id: number;
  status: string;
  trigger: string;
  start_time: string;
  end_time: string;
  status_text: string;
  total: number;
  failed: number;
  succeed: number;
  in_progress: number;
  stopped: number;
}

interface TaskJson {
  id: number;
  execution_id: number;
  status: string;
  job_id: string;
  operation: string;
  resource_type: string;
  src_resource: string;
  dst_resource: string;
  start_time: string;
  end_time: string;
}

/** What the stand-in handler does with the executions of each policy, by id. */
const plans = new Map<number, "copy" | "hold" | "skip">();

function copyTask(repository: string, resourceType: string, operation = "copy") {
  return {
    name: repository,
    extraAttrs: {
      operation,
      resource_type: resourceType,
      src_resource: `library/${repository}:[v1] (hub)`,
      dst_resource: `mirror/${repository}:[v1] (this registry)`,
    },
  };
}

/** Resolves when `signal` fires, or after 20 s (a test that forgot to stop it fails, not hangs). */
function stopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

const standIn: JobHandler = {
  vendorType: REPLICATION_VENDOR,
  async run(context) {
    const plan = plans.get(context.execution.vendorId);
    // What the real handler returns when single active replication skips an execution.
    if (plan === "skip") return { skipped: true, skip_reason: SKIPPED_MESSAGE };
    if (plan === "hold") {
      const [task] = await context.addTasks([copyTask("big", "image")]);
      if (task) await context.runTask(task, (run) => stopped(run.signal));
      return;
    }
    const tasks = await context.addTasks([
      copyTask("nginx", "image"),
      copyTask("redis", "image", "deletion"),
      copyTask("chart", "artifact"),
    ]);
    for (const task of tasks) {
      await context.runTask(task, async (run) => {
        run.log(`replicating ${task.name}`);
        if (task.name === "redis") throw new Error("manifest unknown");
      });
    }
    context.log("3 tasks run");
  },
};

describe("Harbor replication executions API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let hub: number;

  async function createPolicy(name: string, extra: Record<string, unknown> = {}): Promise<number> {
    return expectCreatedEmpty(
      await api.call("POST", "/replication/policies", {
        body: { name, src_registry: { id: hub }, trigger: { type: "manual" }, enabled: true, ...extra },
      }),
      "/api/v2.0/replication/policies/",
    );
  }

  async function start(policyId: number, query = ""): Promise<number> {
    return expectCreatedEmpty(
      await api.call("POST", `/replication/executions${query}`, { body: { policy_id: policyId } }),
      "/api/v2.0/replication/executions/",
    );
  }

  async function execution(id: number): Promise<ExecutionJson> {
    const reply = await api.get(`/replication/executions/${id}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as ExecutionJson;
  }

  /** Polls the execution until `done` holds, for at most ten seconds. */
  async function until(id: number, done: (json: ExecutionJson) => boolean): Promise<ExecutionJson> {
    let json = await execution(id);
    for (let i = 0; i < 100 && !done(json); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      json = await execution(id);
    }
    expect(done(json), JSON.stringify(json)).toBe(true);
    return json;
  }

  /** Polls a task list until `done` holds, for at most ten seconds. */
  async function untilTasks(path: string, done: (tasks: TaskJson[]) => boolean): Promise<TaskJson[]> {
    let tasks = (await list<TaskJson>(path)).items;
    for (let i = 0; i < 100 && !done(tasks); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      tasks = (await list<TaskJson>(path)).items;
    }
    expect(done(tasks), JSON.stringify(tasks)).toBe(true);
    return tasks;
  }

  async function list<T>(path: string): Promise<{ reply: ApiReply; items: T[] }> {
    const reply = await api.get(path);
    expect(reply.status, reply.text).toBe(200);
    return { reply, items: reply.json as T[] };
  }

  beforeAll(async () => {
    registry = await startTestRegistry({}, { jobHandlers: [standIn] });
    api = new HarborClient(registry.url);
    hub = expectCreatedEmpty(
      await api.call("POST", "/registries", {
        body: { name: "hub", type: "docker-registry", url: "http://127.0.0.1:9" },
      }),
      "/api/v2.0/registries/",
    );
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("starts an execution (201, Location) and shows it as Harbor's ReplicationExecution, counts from its tasks", async () => {
    const policy = await createPolicy("copies");
    plans.set(policy, "copy");
    const id = await start(policy);
    const done = await until(id, (json) => json.status !== "InProgress");
    expect(done).toEqual({
      id,
      policy_id: policy,
      status: "Succeed",
      trigger: "manual",
      start_time: expect.stringMatching(RFC3339) as unknown,
      end_time: expect.stringMatching(RFC3339) as unknown,
      status_text: "",
      total: 3,
      failed: 1,
      succeed: 2,
      in_progress: 0,
      stopped: 0,
    });
    expect(done.end_time).not.toBe(ZERO_TIME);

    const { reply, items } = await list<TaskJson>(`/replication/executions/${id}/tasks`);
    expect(reply.headers.get("x-total-count")).toBe("3");
    expect(items.map((t) => [t.status, t.operation, t.resource_type])).toEqual([
      ["Succeed", "copy", "image"],
      ["Failed", "deletion", "image"],
      ["Succeed", "copy", "artifact"],
    ]);
    expect(items[0]).toEqual({
      id: items[0]?.id,
      execution_id: id,
      status: "Succeed",
      job_id: String(items[0]?.id),
      operation: "copy",
      resource_type: "image",
      src_resource: "library/nginx:[v1] (hub)",
      dst_resource: "mirror/nginx:[v1] (this registry)",
      start_time: expect.stringMatching(RFC3339) as unknown,
      end_time: expect.stringMatching(RFC3339) as unknown,
    });
    const failed = await list<TaskJson>(`/replication/executions/${id}/tasks?status=Failed`);
    expect(failed.items.map((t) => t.src_resource)).toEqual(["library/redis:[v1] (hub)"]);
    const artifacts = await list<TaskJson>(`/replication/executions/${id}/tasks?resource_type=artifact`);
    expect(artifacts.items.map((t) => t.resource_type)).toEqual(["artifact"]);
    const paged = await list<TaskJson>(`/replication/executions/${id}/tasks?status=Succeed&page=2&page_size=1`);
    expect(paged.reply.headers.get("x-total-count")).toBe("2");
    expect(paged.items.map((t) => t.id)).toEqual([items[2]?.id]);
    expect((await list<TaskJson>("/replication/executions/99999/tasks")).items).toEqual([]);

    // A task's own log, as text/plain.
    const log = await api.get(`/replication/executions/${id}/tasks/${items[1]?.id}/log`);
    expect(log.status, log.text).toBe(200);
    expect(log.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(log.text).toContain("replicating redis");
    expect(log.text).not.toContain("replicating nginx");
  });

  it("lists executions by policy, status and trigger (Harbor's names), newest first, with paging", async () => {
    const policy = await createPolicy("listed");
    plans.set(policy, "copy");
    const manual = await start(policy);
    await until(manual, (json) => json.status === "Succeed");
    const scheduled = await start(policy, "?trigger=scheduled");
    await until(scheduled, (json) => json.status === "Succeed");
    const ids = async (query: string): Promise<number[]> =>
      (await list<ExecutionJson>(`/replication/executions?policy_id=${policy}${query}`)).items.map((e) => e.id);
    expect(await ids("")).toEqual([scheduled, manual]);
    expect(await ids("&sort=start_time")).toEqual([manual, scheduled]);
    expect(await ids("&trigger=scheduled")).toEqual([scheduled]);
    expect(await ids("&trigger=manual")).toEqual([manual]);
    expect(await ids("&trigger=event_based")).toEqual([]);
    expect(await ids("&trigger=nonsense")).toEqual([]);
    expect(await ids("&status=Succeed")).toEqual([scheduled, manual]);
    expect(await ids("&status=Failed")).toEqual([]);
    expect(await ids("&status=InProgress")).toEqual([]);
    expect((await execution(scheduled)).trigger).toBe("scheduled");
    const page = await list<ExecutionJson>(`/replication/executions?policy_id=${policy}&page=2&page_size=1`);
    expect(page.reply.headers.get("x-total-count")).toBe("2");
    expect(page.items.map((e) => e.id)).toEqual([manual]);
    const everything = await list<ExecutionJson>("/replication/executions?page_size=0");
    expect(everything.items.map((e) => e.id)).toEqual(expect.arrayContaining([manual, scheduled]));
    expectError(await api.get("/replication/executions?policy_id=abc"), 400, "BAD_REQUEST");
  });

  it("refuses to start an unknown policy (404) or a disabled one (412)", async () => {
    expectError(
      await api.call("POST", "/replication/executions", { body: { policy_id: 99999 } }),
      404,
      "NOT_FOUND",
      /replication policy 99999 not found/,
    );
    const off = await createPolicy("off", { enabled: false });
    expectError(
      await api.call("POST", "/replication/executions", { body: { policy_id: off } }),
      412,
      "PRECONDITION",
      new RegExp(`the policy ${off} is disabled`),
    );
    expect((await list<ExecutionJson>(`/replication/executions?policy_id=${off}`)).items).toEqual([]);
    expectError(await api.get("/replication/executions/99999"), 404, "NOT_FOUND", /replication execution 99999/);
    expectError(await api.call("PUT", "/replication/executions/99999"), 404, "NOT_FOUND");
  });

  it("stops a running execution, and deletes its policy only once it ended", async () => {
    const policy = await createPolicy("held");
    plans.set(policy, "hold");
    const id = await start(policy);
    const running = await until(id, (json) => json.in_progress === 1 && json.total === 1);
    expect(running).toMatchObject({ status: "InProgress", end_time: ZERO_TIME, succeed: 0, stopped: 0 });
    // The execution counts its task in progress from the moment it is added (Pending, as in
    // Harbor); the task itself shows InProgress once it runs.
    const [task] = await untilTasks(
      `/replication/executions/${id}/tasks?status=InProgress`,
      (tasks) => tasks.length === 1,
    );
    expect(task).toMatchObject({ status: "InProgress", resource_type: "image", end_time: ZERO_TIME });
    expect(await list<ExecutionJson>(`/replication/executions?policy_id=${policy}&status=InProgress`)).toMatchObject({
      items: [{ id }],
    });

    // Deleting the policy now is Harbor's 412, and changes nothing.
    expectError(
      await api.call("DELETE", `/replication/policies/${policy}`),
      412,
      "PRECONDITION",
      /executions that aren't in final status/,
    );
    expect((await api.get(`/replication/policies/${policy}`)).status).toBe(200);

    const stop = await api.call("PUT", `/replication/executions/${id}`);
    expect(stop.status, stop.text).toBe(200);
    const ended = await until(id, (json) => json.status !== "InProgress");
    expect(ended).toMatchObject({ status: "Stopped", total: 1, stopped: 1, in_progress: 0 });
    expect(ended.end_time).not.toBe(ZERO_TIME);
    // Stopping what ended changes nothing.
    expect((await api.call("PUT", `/replication/executions/${id}`)).status).toBe(200);
    expect((await execution(id)).status).toBe("Stopped");

    const deleted = await api.call("DELETE", `/replication/policies/${policy}`);
    expect(deleted.status, deleted.text).toBe(200);
    // Its executions went with it, as in Harbor.
    expectError(await api.get(`/replication/executions/${id}`), 404, "NOT_FOUND");
    expect((await list<ExecutionJson>(`/replication/executions?policy_id=${policy}`)).items).toEqual([]);
  });

  it("shows an execution single active replication skipped as Harbor's Skipped, with its reason", async () => {
    const policy = await createPolicy("skipping", { single_active_replication: true });
    plans.set(policy, "skip");
    const id = await start(policy);
    const skipped = await until(id, (json) => json.status !== "InProgress");
    expect(skipped).toMatchObject({ status: "Skipped", status_text: SKIPPED_MESSAGE, total: 0 });
  });

  it("serves a task's log only under its own execution", async () => {
    const policy = await createPolicy("logs");
    plans.set(policy, "copy");
    const first = await start(policy);
    await until(first, (json) => json.status === "Succeed");
    const second = await start(policy);
    await until(second, (json) => json.status === "Succeed");
    const [task] = (await list<TaskJson>(`/replication/executions/${first}/tasks`)).items;
    expectError(
      await api.get(`/replication/executions/${second}/tasks/${task?.id}/log`),
      404,
      "NOT_FOUND",
      new RegExp(`execution ${second} contains no task with ID ${task?.id}`),
    );
    expectError(await api.get(`/replication/executions/${first}/tasks/99999/log`), 404, "NOT_FOUND", /task 99999/);
    expectError(await api.get(`/replication/executions/99999/tasks/${task?.id}/log`), 404, "NOT_FOUND");
  });

  it("is a system resource: anonymous 401, a user 403, a system robot by its replication permissions", async () => {
    const policy = await createPolicy("guarded-runs");
    plans.set(policy, "copy");
    const id = await start(policy);
    await until(id, (json) => json.status === "Succeed");
    await api.createUser("runner", "Runner-password1");
    const user = { username: "runner", password: "Runner-password1" };
    for (const [auth, status, code] of [
      [null, 401, "UNAUTHORIZED"],
      [user, 403, "FORBIDDEN"],
    ] as const) {
      expectError(await api.get("/replication/executions", auth), status, code);
      expectError(await api.get(`/replication/executions/${id}`, auth), status, code);
      expectError(await api.get(`/replication/executions/${id}/tasks`, auth), status, code);
      expectError(
        await api.call("POST", "/replication/executions", { auth, body: { policy_id: policy } }),
        status,
        code,
      );
      expectError(await api.call("PUT", `/replication/executions/${id}`, { auth }), status, code);
    }
    const robot = await api.createRobot({
      name: "replication-runner",
      level: "system",
      duration: -1,
      permissions: [
        {
          kind: "system",
          namespace: "/",
          access: [
            { resource: "replication", action: "list" },
            { resource: "replication", action: "create" },
          ],
        },
      ],
    });
    const robotAuth = { username: robot.name, password: robot.secret };
    expect((await api.get("/replication/executions", robotAuth)).status).toBe(200);
    const started = await api.call("POST", "/replication/executions", { auth: robotAuth, body: { policy_id: policy } });
    expect(started.status, started.text).toBe(201);
    expectError(await api.get(`/replication/executions/${id}`, robotAuth), 403, "FORBIDDEN");
  });
});
