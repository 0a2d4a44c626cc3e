// Contract tests of Harbor 2.13's audit log API (/auditlog-exts, its event types, a project's
// auditlog-exts: swagger `AuditLogExt`, `AuditLogEventType`) and of the audit log purge
// (/system/purgeaudit: swagger `ExecHistory`, `Schedule`; Harbor's purge handler), run on the job
// system: dry runs, purges by operation and by event type, schedules, logs and permissions.

import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { expectError, HarborClient, idFromLocation, RFC3339, type Credentials } from "./harbor-client.ts";

const OWNER: Credentials = { username: "audit-owner", password: "Auditowner1password" };
const READER: Credentials = { username: "audit-reader", password: "Auditreader1password" };
const HOUR = 3_600_000;

interface ExtEntry {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_description: string;
  operation_result: boolean;
  op_time: string;
}

interface ExecHistory {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  schedule: { type: string; cron?: string; next_scheduled_time?: string };
  creation_time: string;
  update_time: string;
}

describe("audit log exts and purge", () => {
  let registry: TestRegistry;
  let api: HarborClient;

  /** Adds entries as if they had been written `hoursAgo` hours ago (straight into the database). */
  function backdate(entries: Array<{ resource: string; operation: string; type: string; hoursAgo: number }>): void {
    const db = new DatabaseSync(path.join(registry.dataDir, "metadata", "registry.db"));
    try {
      const insert = db.prepare(
        `INSERT INTO audit_logs (username, resource, resource_type, operation, success, project_id, op_time)
         VALUES ('old-admin', ?, ?, ?, 1, NULL, ?)`,
      );
      for (const e of entries) insert.run(e.resource, e.type, e.operation, Date.now() - e.hoursAgo * HOUR);
    } finally {
      db.close();
    }
  }

  const oldResources = async (): Promise<string[]> =>
    ((await api.get("/audit-logs?page=0&page_size=0&q=username%3Dold-admin")).json as ExtEntry[])
      .map((e) => e.resource)
      .sort();

  async function finished(id: number): Promise<ExecHistory> {
    for (let i = 0; i < 100; i++) {
      const reply = (await api.get(`/system/purgeaudit/${id}`)).json as ExecHistory;
      if (["Success", "Error", "Stopped"].includes(reply.job_status)) return reply;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`purge ${id} did not finish in 10 s`);
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(OWNER.username, OWNER.password);
    await api.createUser(READER.username, READER.password);
    await api.call("POST", "/projects", { auth: OWNER, body: { project_name: "owned" } });
    await api.createProject("foreign", false);
    await api.addMember("owned", READER.username, 3);
    const oci = new OciClient(registry.url);
    await oci.pushImage("owned/app", "v1");
    await oci.pushImage("foreign/app", "v1");
    // The audit log is written once a second.
    for (let i = 0; i < 50; i++) {
      const entries = (await api.get("/auditlog-exts?page=0&page_size=0")).json as ExtEntry[];
      if (entries.filter((e) => e.resource.endsWith("/app:v1")).length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(() => registry?.stop());

  describe("auditlog-exts", () => {
    it("lists entries in Harbor 2.13's shape, newest first, for the administrator", async () => {
      const reply = await api.get("/auditlog-exts");
      expect(reply.status).toBe(200);
      const entries = reply.json as ExtEntry[];
      const push = entries.find((e) => e.resource === "foreign/app:v1");
      expect(push).toEqual({
        id: expect.any(Number) as number,
        username: "admin",
        resource: "foreign/app:v1",
        resource_type: "artifact",
        operation: "create",
        operation_description: "create artifact with name: foreign/app:v1",
        operation_result: true,
        op_time: expect.stringMatching(RFC3339) as string,
      });
      const times = entries.map((e) => Date.parse(e.op_time));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(Number(reply.headers.get("x-total-count"))).toBeGreaterThanOrEqual(2);
    });

    it("shows a user the logs of the projects they administer, and a project's to its members", async () => {
      const mine = (await api.get("/auditlog-exts", OWNER)).json as ExtEntry[];
      expect(mine.map((e) => e.resource)).toContain("owned/app:v1");
      expect(mine.map((e) => e.resource)).not.toContain("foreign/app:v1");
      // A guest administers nothing.
      expect((await api.get("/auditlog-exts", READER)).json).toEqual([]);
      const project = await api.get("/projects/owned/auditlog-exts", READER);
      expect((project.json as ExtEntry[]).map((e) => e.resource)).toEqual(["owned/app:v1"]);
      expectError(await api.get("/projects/foreign/auditlog-exts", READER), 403, "FORBIDDEN");
      expectError(await api.get("/auditlog-exts", null), 401, "UNAUTHORIZED");
    });

    it("filters with q as the older API does", async () => {
      const pushes = (await api.get(`/auditlog-exts?q=${encodeURIComponent("resource=~owned,operation=create")}`))
        .json as ExtEntry[];
      expect(pushes.map((e) => e.resource)).toEqual(["owned/app:v1"]);
    });

    it("lists the event types the settings and the purge name", async () => {
      const reply = await api.get("/auditlog-exts/events");
      expect(reply.status).toBe(200);
      const types = (reply.json as Array<{ event_type: string }>).map((e) => e.event_type);
      expect(types).toEqual(
        expect.arrayContaining(["create_artifact", "pull_artifact", "delete_artifact", "create_user"]),
      );
    });
  });

  describe("purgeaudit", () => {
    it("has no schedule at first: 200 with an empty body", async () => {
      const reply = await api.get("/system/purgeaudit/schedule");
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
    });

    it("counts without deleting in a dry run, then purges old entries by operation", async () => {
      backdate([
        { resource: "old-push", operation: "create", type: "artifact", hoursAgo: 48 },
        { resource: "old-pull", operation: "pull", type: "artifact", hoursAgo: 48 },
        { resource: "old-delete", operation: "delete", type: "artifact", hoursAgo: 48 },
        { resource: "recent-pull", operation: "pull", type: "artifact", hoursAgo: 1 },
      ]);
      const dry = await api.call("POST", "/system/purgeaudit/schedule", {
        body: {
          schedule: { type: "Manual" },
          parameters: { audit_retention_hour: 24, include_operations: "create,pull", dry_run: true },
        },
      });
      expect(dry.status, dry.text).toBe(201);
      const dryId = idFromLocation(dry, "/api/v2.0/system/purgeaudit/");
      const dryRun = await finished(dryId);
      expect(dryRun).toMatchObject({
        id: dryId,
        job_name: "PURGE_AUDIT_LOG",
        job_kind: "MANUAL",
        job_status: "Success",
      });
      expect(dryRun.creation_time).toMatch(RFC3339);
      // A string holding JSON, as Harbor sends it.
      expect(JSON.parse(dryRun.job_parameters)).toMatchObject({ dry_run: true, purgeable: 2, purged: 0 });
      expect(await oldResources()).toEqual(["old-delete", "old-pull", "old-push", "recent-pull"]);

      const run = await api.call("POST", "/system/purgeaudit/schedule", {
        body: {
          schedule: { type: "Manual" },
          parameters: { audit_retention_hour: 24, include_operations: "create,pull" },
        },
      });
      const id = idFromLocation(run, "/api/v2.0/system/purgeaudit/");
      expect(JSON.parse((await finished(id)).job_parameters)).toMatchObject({ purged: 2 });
      expect(await oldResources()).toEqual(["old-delete", "recent-pull"]);
      const log = await api.get(`/system/purgeaudit/${id}/log`);
      expect(log.status).toBe(200);
      expect(log.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(log.text).toMatch(/purged 2 audit entries/);

      const history = await api.get("/system/purgeaudit");
      expect(Number(history.headers.get("x-total-count"))).toBe(2);
      expect((history.json as ExecHistory[]).map((h) => h.id)).toEqual([id, dryId]);
    });

    it("purges by Harbor 2.13's event types", async () => {
      backdate([
        { resource: "old-user", operation: "create", type: "user", hoursAgo: 30 },
        { resource: "old-artifact", operation: "create", type: "artifact", hoursAgo: 30 },
      ]);
      const run = await api.call("POST", "/system/purgeaudit/schedule", {
        body: {
          schedule: { type: "Manual" },
          parameters: { audit_retention_hour: 24, include_event_types: "create_user" },
        },
      });
      await finished(idFromLocation(run, "/api/v2.0/system/purgeaudit/"));
      const left = await oldResources();
      expect(left).toContain("old-artifact");
      expect(left).not.toContain("old-user");
    });

    it("sets, shows, changes and cancels a schedule, refusing a cron that is not Harbor's", async () => {
      const parameters = { audit_retention_hour: 168, include_event_types: "pull_artifact" };
      const created = await api.call("POST", "/system/purgeaudit/schedule", {
        body: { schedule: { type: "Daily" }, parameters },
      });
      expect(created.status).toBe(201);
      const daily = (await api.get("/system/purgeaudit/schedule")).json as ExecHistory;
      expect(daily.schedule).toMatchObject({ type: "Daily", cron: "0 0 0 * * *" });
      expect(Date.parse(daily.schedule.next_scheduled_time ?? "")).toBeGreaterThan(Date.now());
      expect(JSON.parse(daily.job_parameters)).toEqual(parameters);

      expectError(
        await api.call("PUT", "/system/purgeaudit/schedule", {
          body: { schedule: { type: "Custom", cron: "0 0 * * 0" }, parameters },
        }),
        400,
        "BAD_REQUEST",
        /six, seconds first/,
      );
      expectError(
        await api.call("PUT", "/system/purgeaudit/schedule", {
          body: { schedule: { type: "Custom", cron: "0 30 2 * * *" }, parameters: {} },
        }),
        400,
        "BAD_REQUEST",
        /audit_retention_hour/,
      );
      const changed = await api.call("PUT", "/system/purgeaudit/schedule", {
        body: { schedule: { type: "Custom", cron: "0 30 2 * * *" }, parameters },
      });
      expect(changed.status).toBe(200);
      expect(((await api.get("/system/purgeaudit/schedule")).json as ExecHistory).schedule).toMatchObject({
        type: "Custom",
        cron: "0 30 2 * * *",
      });
      expect(
        (await api.call("PUT", "/system/purgeaudit/schedule", { body: { schedule: { type: "None" } } })).status,
      ).toBe(200);
      expect((await api.get("/system/purgeaudit/schedule")).text).toBe("");
    });

    it("is the administrator's or a system robot's with the purge-audit permission", async () => {
      expectError(await api.get("/system/purgeaudit", OWNER), 403, "FORBIDDEN");
      expectError(await api.get("/system/purgeaudit/schedule", null), 401, "UNAUTHORIZED");
      const robot = await api.createRobot({
        name: "purger",
        level: "system",
        duration: -1,
        permissions: [{ kind: "system", namespace: "/", access: [{ resource: "purge-audit", action: "list" }] }],
      });
      const auth = { username: robot.name, password: robot.secret };
      expect((await api.get("/system/purgeaudit", auth)).status).toBe(200);
      expectError(
        await api.call("POST", "/system/purgeaudit/schedule", {
          auth,
          body: { schedule: { type: "Manual" }, parameters: { audit_retention_hour: 1, include_operations: "pull" } },
        }),
        403,
        "FORBIDDEN",
      );
    });

    it("answers 404 for an execution that is not a purge", async () => {
      expectError(await api.get("/system/purgeaudit/999999"), 404, "NOT_FOUND");
      expectError(await api.get("/system/purgeaudit/999999/log"), 404, "NOT_FOUND");
      expectError(await api.call("PUT", "/system/purgeaudit/999999"), 404, "NOT_FOUND");
    });
  });
});
