// Retention, immutability, garbage collection and a proxy cache's expiry declared in a stack,
// through the real engine: up creates them (the proxy project's default policy adopted and set
// to the stack's expiry); a retention rule, an immutable rule and the GC schedule changed by hand
// through the API show as drift in `pulumi refresh`, which records the live values, and `pulumi
// up` puts the declared ones back. An immutable rule deleted by hand disappears on refresh and up
// creates it again, and neither changes anything else ("Daily" and "weekly" in the stack, crons
// in the registry: no perpetual diff).
// Destroying the proxy's expiry gives the project Harbor's default back; destroying the GC
// schedule cancels it.

import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import { ADMIN_PASSWORD, type Endpoint, call } from "./registry-calls";

const STEP_TIMEOUT_MS = 180_000;

interface LivePolicy {
  id: number;
  rules: Array<{ template: string; params: Record<string, number>; tag_selectors: Array<{ extras: string }> }>;
  trigger: { settings: { cron: string } };
}

describe("retention, immutability and GC declared in a stack", () => {
  let test: TestStack;
  let endpoint: Endpoint;

  beforeAll(async () => {
    const port = await freePort();
    // An upstream nobody serves: the endpoint and its proxy project need none to exist.
    const upstreamPort = await freePort();
    test = await createTestStack(() => ({}));
    const config = {
      local: { port, stateDir: path.join(test.workDir, "registry"), logLevel: "warn", removeDataOnDestroy: true },
      adminPassword: ADMIN_PASSWORD,
      projects: [
        {
          name: "team",
          retention: { schedule: "Daily", rules: [{ keepLatestPushed: 10 }, { keepPushedWithinDays: 30 }] },
          immutableTags: [{ tags: { matches: "v*" } }],
        },
      ],
      registries: [{ name: "upstream", type: "docker-registry", url: `http://127.0.0.1:${upstreamPort}` }],
      proxyProjects: [{ name: "hub", registry: "upstream", expiryDays: 14 }],
      garbageCollection: { schedule: "weekly", deleteUntagged: true },
    };
    for (const [key, value] of Object.entries(config)) {
      await test.stack.setConfig(`airlock:${key}`, {
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret: key === "adminPassword",
      });
    }
  }, STEP_TIMEOUT_MS);

  afterAll(() => destroyAndRemove(test), STEP_TIMEOUT_MS);

  async function policyOf(project: string): Promise<LivePolicy> {
    const found = (await call(endpoint, "GET", `/api/v2.0/projects/${project}`)).json as {
      metadata: Record<string, string>;
    };
    const id = found.metadata["retention_id"];
    expect(id, `${project} has a retention policy`).toBeDefined();
    const reply = await call(endpoint, "GET", `/api/v2.0/retentions/${id}`);
    expect(reply.status).toBe(200);
    return reply.json as LivePolicy;
  }

  async function immutableRules(): Promise<
    Array<Record<string, unknown> & { id: number; tag_selectors: Array<{ pattern: string }> }>
  > {
    const reply = await call(endpoint, "GET", "/api/v2.0/projects/team/immutabletagrules");
    expect(reply.status).toBe(200);
    return reply.json as Array<Record<string, unknown> & { id: number; tag_selectors: Array<{ pattern: string }> }>;
  }

  async function gcSchedule(): Promise<
    { schedule?: { type: string; cron: string }; job_parameters?: string } | undefined
  > {
    const reply = await call(endpoint, "GET", "/api/v2.0/system/gc/schedule");
    expect(reply.status).toBe(200);
    return reply.json as { schedule?: { type: string; cron: string }; job_parameters?: string } | undefined;
  }

  async function urnOf(name: string): Promise<string> {
    const state = await test.stack.exportStack();
    const resources = (state.deployment as { resources: Array<{ urn: string }> }).resources;
    const urn = resources.find((r) => r.urn.endsWith(`::${name}`))?.urn;
    if (!urn) throw new Error(`no resource ${name} in the state`);
    return urn;
  }

  async function inputsOf(name: string): Promise<Record<string, unknown>> {
    const state = await test.stack.exportStack();
    const resources = (state.deployment as { resources: Array<{ urn: string; inputs: Record<string, unknown> }> })
      .resources;
    return resources.find((r) => r.urn.endsWith(`::${name}`))?.inputs ?? {};
  }

  it(
    "up declares the policy, the immutable rule, the GC schedule and the proxy cache's expiry",
    async () => {
      const result = await test.stack.up();
      endpoint = {
        url: result.outputs["url"]?.value as string,
        host: "",
        ca: result.outputs["caCertificate"]?.value as string,
        certDir: "",
      };
      const created = changes(result.summary.resourceChanges)["create"] ?? 0;
      expect(created).toBeGreaterThanOrEqual(12);

      const team = await policyOf("team");
      expect(team.rules.map((r) => [r.template, r.params, r.tag_selectors[0]?.extras])).toEqual([
        ["latestPushedK", { latestPushedK: 10 }, '{"untagged":false}'],
        ["nDaysSinceLastPush", { nDaysSinceLastPush: 30 }, '{"untagged":false}'],
      ]);
      expect(team.trigger.settings.cron).toBe("0 0 0 * * *");
      // Harbor's default expiry of a new proxy project (7 days), adopted and set to 14.
      const hub = await policyOf("hub");
      expect(hub.rules.map((r) => [r.template, r.params])).toEqual([
        ["nDaysSinceLastPull", { nDaysSinceLastPull: 14 }],
      ]);
      expect((await immutableRules()).map((r) => r.tag_selectors[0]?.pattern)).toEqual(["v*"]);
      const gc = await gcSchedule();
      expect(gc?.schedule).toMatchObject({ type: "Weekly", cron: "0 0 0 * * 0" });
      expect(JSON.parse(gc?.job_parameters ?? "{}")).toMatchObject({ delete_untagged: true, workers: 1 });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows rules and a schedule changed by hand as drift in refresh, and up puts the declared ones back",
    async () => {
      const team = await policyOf("team");
      const edited = {
        ...team,
        rules: team.rules.map((rule, index) => (index === 0 ? { ...rule, params: { latestPushedK: 3 } } : rule)),
      };
      expect((await call(endpoint, "PUT", `/api/v2.0/retentions/${team.id}`, { body: edited })).status).toBe(200);
      const [rule] = await immutableRules();
      const retagged = {
        ...rule,
        tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "release-*" }],
      };
      expect(
        (await call(endpoint, "PUT", `/api/v2.0/projects/team/immutabletagrules/${rule?.id}`, { body: retagged }))
          .status,
      ).toBe(200);
      const daily = { schedule: { type: "Daily" }, parameters: { delete_untagged: true, workers: 1, dry_run: false } };
      expect((await call(endpoint, "PUT", "/api/v2.0/system/gc/schedule", { body: daily })).status).toBe(200);

      // (Exit code 7 of `refresh --preview-only --expect-no-changes` on drift: registry-content.test.ts.)
      const events: EngineEvent[] = [];
      const refresh = await test.stack.refresh({ onEvent: (event) => events.push(event) });
      expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 3 });
      // What refresh recorded: for each resource it updated, the inputs whose live value differs.
      const refreshed = events
        .flatMap((event) => (event.resOutputsEvent ? [event.resOutputsEvent.metadata] : []))
        .filter((step) => step.op === "update")
        .map((step) => {
          const before = step.old?.inputs ?? {};
          const after = step.new?.inputs ?? {};
          const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
            (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
          );
          return `${step.urn.split("::").pop() ?? ""}: ${keys.sort().join(",")}`;
        })
        .sort();
      expect(refreshed).toEqual([
        "registry-gc-schedule: schedule",
        "registry-immutable-team-**-v*: tags",
        "registry-retention-team: rules",
      ]);
      // The state now holds what the registry has.
      expect((await inputsOf("registry-retention-team"))["rules"]).toMatchObject([{ keepLatestPushed: 3 }, {}]);
      expect((await inputsOf("registry-gc-schedule"))["schedule"]).toBe("0 0 0 * * *");

      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ update: 3 });
      expect((await policyOf("team")).rules[0]?.params).toEqual({ latestPushedK: 10 });
      expect((await immutableRules()).map((r) => r.tag_selectors[0]?.pattern)).toEqual(["v*"]);
      expect((await gcSchedule())?.schedule).toMatchObject({ type: "Weekly", cron: "0 0 0 * * 0" });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "drops an immutable rule deleted by hand on refresh, and up creates it again",
    async () => {
      const [rule] = await immutableRules();
      expect((await call(endpoint, "DELETE", `/api/v2.0/projects/team/immutabletagrules/${rule?.id}`)).status).toBe(
        200,
      );
      // Exactly one change each way: "Daily" and "weekly" in the stack, crons in the registry, and
      // nothing else to refresh or update (no perpetual diff).
      const refresh = await test.stack.refresh();
      expect(changes(refresh.summary.resourceChanges)).toEqual({ delete: 1 });
      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ create: 1 });
      expect((await immutableRules()).map((r) => r.tag_selectors[0]?.pattern)).toEqual(["v*"]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroying the proxy's expiry restores Harbor's default; destroying the GC schedule cancels it",
    async () => {
      const result = await test.stack.destroy({
        target: [await urnOf("registry-proxy-hub-expiry"), await urnOf("registry-gc-schedule")],
      });
      expect(changes(result.summary.resourceChanges)).toEqual({ delete: 2 });
      const hub = await policyOf("hub");
      expect(hub.rules.map((r) => [r.template, r.params, r.tag_selectors[0]?.extras])).toEqual([
        ["nDaysSinceLastPull", { nDaysSinceLastPull: 7 }, '{"untagged":true}'],
      ]);
      expect(hub.trigger.settings.cron).toBe("0 0 0 * * *");
      expect(await gcSchedule()).toBeUndefined();
    },
    STEP_TIMEOUT_MS,
  );
});
