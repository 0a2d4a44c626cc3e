// Replication to a second site and a webhook declared in a stack, through the real engine: the
// stack's registry (the site) and a second registry process (the "second site", plain HTTP on
// loopback) as its `lyon` endpoint; an event-based ReplicationPolicy of production's v* tags to
// it, run on create; a WebhookPolicy on production posting to a receiver this test serves, with a
// secret auth header. The policy is added to a stack whose project already holds images: `up`
// runs it once, so the release pushed before arrives at the second site, the tag outside the
// filter does not, and a release pushed after `up` arrives by the event. Changes made by hand
// through the API (the policy disabled and refiltered, the webhook's event types) show as drift
// in `pulumi refresh`, `up` puts them back, and replication works again. No perpetual diff
// ("eventBased" against Harbor's "event_based", the filters' order, the payload format filled
// in, the auth header the registry may mask).

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import {
  ADMIN_PASSWORD,
  type Endpoint,
  type RegistryProcess,
  call,
  pushImage,
  startRegistryProcess,
} from "./registry-calls";

const STEP_TIMEOUT_MS = 300_000;
const HOOK_HEADER = "Bearer e2e-hook-token-1";
/** Pulumi's secret envelope, as a stack export shows it. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ARRIVAL_TIMEOUT_MS = 90_000;

interface Delivery {
  authorization: string;
  body: Record<string, unknown>;
}

/** A webhook receiver that records each delivery's Authorization header and JSON body. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        // recorded as an empty body
      }
      deliveries.push({ authorization: req.headers.authorization ?? "", body });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries, server };
}

/**
 * Waits (bounded in time and tries) until `check` holds; fails naming `what`, with what
 * `explain` says of the state (the replication executions, say).
 */
async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  explain: () => Promise<string> = () => Promise.resolve(""),
): Promise<void> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  for (let attempt = 0; attempt < 600; attempt++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out after ${ARRIVAL_TIMEOUT_MS / 1000}s waiting for ${what}\n${await explain()}`);
}

/** What refresh recorded: for each resource it updated, the inputs whose live value differs. */
function refreshedInputs(events: EngineEvent[]): string[] {
  return events
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
}

describe("replication to a second site and a webhook declared in a stack", () => {
  let test: TestStack;
  let site: Endpoint;
  let lyon: RegistryProcess;
  let lyonEndpoint: Endpoint;
  let lyonDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const replication = {
    name: "production-to-lyon",
    destinationRegistry: "lyon",
    trigger: "eventBased",
    filters: { tags: { matches: "v*" }, repositories: "production/**" },
    override: true,
    replicateDeletion: true,
    runOnCreate: true,
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    lyonDir = mkdtempSync(path.join(tmpdir(), "airlock-e2e-lyon-"));
    lyon = await startRegistryProcess(path.join(lyonDir, "data"));
    lyonEndpoint = { url: lyon.url, host: lyon.host, ca: "", certDir: "" };
    const port = await freePort();
    test = await createTestStack(() => ({}));
    const config = {
      local: { port, stateDir: path.join(test.workDir, "registry"), logLevel: "warn", removeDataOnDestroy: true },
      adminPassword: ADMIN_PASSWORD,
      projects: [
        {
          name: "production",
          webhooks: [
            {
              name: "ci-events",
              targets: [{ address: `${receiver.url}/hooks/registry/`, authHeader: HOOK_HEADER }],
              eventTypes: ["REPLICATION", "PUSH_ARTIFACT"],
            },
          ],
        },
      ],
      // The second site, as a Harbor-compatible endpoint; its admin stands for the site's robot.
      registries: [
        {
          name: "lyon",
          type: "harbor",
          url: lyon.url,
          credential: { accessKey: "admin", accessSecret: ADMIN_PASSWORD },
        },
      ],
      // The policy comes with the second `up`, once production holds images.
      replications: [],
    };
    for (const [key, value] of Object.entries(config)) {
      await test.stack.setConfig(`airlock:${key}`, {
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret: ["adminPassword", "registries", "projects"].includes(key),
      });
    }
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      // A project with repositories cannot be deleted (412): the test's images go first.
      if (site) await call(site, "DELETE", "/api/v2.0/projects/production/repositories/app");
      await destroyAndRemove(test);
    } finally {
      await lyon?.stop();
      receiver?.server.close();
      if (lyonDir) rmSync(lyonDir, { recursive: true, force: true });
    }
  }, STEP_TIMEOUT_MS);

  /** The site's replication executions with their tasks and logs: why nothing arrived. */
  async function executions(): Promise<string> {
    const lines: string[] = [];
    const list = await call(site, "GET", "/api/v2.0/replication/executions?page_size=20");
    for (const execution of (Array.isArray(list.json) ? list.json : []) as Array<Record<string, unknown>>) {
      lines.push(`execution ${JSON.stringify(execution)}`);
      const tasks = await call(site, "GET", `/api/v2.0/replication/executions/${String(execution["id"])}/tasks`);
      for (const task of (Array.isArray(tasks.json) ? tasks.json : []) as Array<Record<string, unknown>>) {
        const log = await call(
          site,
          "GET",
          `/api/v2.0/replication/executions/${String(execution["id"])}/tasks/${String(task["id"])}/log`,
        );
        lines.push(`  task ${JSON.stringify(task)}\n  log ${String(log.json).slice(0, 2000)}`);
      }
    }
    return lines.length > 0 ? lines.join("\n") : `no execution (${list.status})`;
  }

  async function atLyon(repository: string, reference: string): Promise<boolean> {
    const reply = await call(lyonEndpoint, "HEAD", `/v2/${repository}/manifests/${reference}`);
    return reply.status === 200;
  }

  async function livePolicy(): Promise<Record<string, unknown> & { id: number }> {
    const reply = await call(site, "GET", "/api/v2.0/replication/policies?page_size=100");
    expect(reply.status).toBe(200);
    const found = (reply.json as Array<Record<string, unknown> & { id: number }>).find(
      (p) => p["name"] === "production-to-lyon",
    );
    expect(found, "the declared policy exists").toBeDefined();
    const one = await call(site, "GET", `/api/v2.0/replication/policies/${found?.id}`);
    expect(one.status).toBe(200);
    return one.json as Record<string, unknown> & { id: number };
  }

  async function liveWebhook(): Promise<Record<string, unknown> & { id: number }> {
    const reply = await call(site, "GET", "/api/v2.0/projects/production/webhook/policies");
    expect(reply.status).toBe(200);
    const found = (reply.json as Array<Record<string, unknown> & { id: number }>).find(
      (p) => p["name"] === "ci-events",
    );
    expect(found, "the declared webhook exists").toBeDefined();
    return found as Record<string, unknown> & { id: number };
  }

  it(
    "up runs the new policy once (the release pushed before arrives, a dev tag does not), then each push by the event",
    async () => {
      const first = await test.stack.up();
      site = {
        url: first.outputs["url"]?.value as string,
        host: "",
        ca: first.outputs["caCertificate"]?.value as string,
        certDir: "",
      };
      await pushImage(site, "production/app", "v1.0.0", "layer of v1.0.0");
      await pushImage(site, "production/app", "dev", "layer of dev");
      // The webhook is there, with its header: the push was delivered with it.
      await eventually(
        () => receiver.deliveries.some((d) => d.body["type"] === "PUSH_ARTIFACT"),
        "the PUSH_ARTIFACT delivery",
      );
      expect(receiver.deliveries.map((d) => d.authorization)).toContain(HOOK_HEADER);
      const hook = await liveWebhook();
      expect(hook["enabled"]).toBe(true);
      expect((hook["event_types"] as string[]).sort()).toEqual(["PUSH_ARTIFACT", "REPLICATION"]);

      await test.stack.setConfig("airlock:replications", { value: JSON.stringify([replication]) });
      const second = await test.stack.up();
      expect(changes(second.summary.resourceChanges)).toEqual({ create: 2 }); // the component and the policy
      const policy = await livePolicy();
      expect(policy).toMatchObject({
        enabled: true,
        override: true,
        trigger: { type: "event_based" },
        dest_registry: expect.objectContaining({ name: "lyon" }) as unknown,
      });

      // runOnCreate: what production already held, filtered.
      await eventually(
        () => atLyon("production/app", "v1.0.0"),
        "production/app:v1.0.0 at the second site",
        executions,
      );
      // Once that run has ended, the tag outside the filter is still not there.
      await eventually(
        async () => {
          const list = await call(site, "GET", `/api/v2.0/replication/executions?policy_id=${policy.id}`);
          const runs = (Array.isArray(list.json) ? list.json : []) as Array<Record<string, unknown>>;
          return runs.some((run) => run["trigger"] === "manual" && run["status"] === "Succeed");
        },
        "the run on create to succeed",
        executions,
      );
      expect(await atLyon("production/app", "dev")).toBe(false);
      // The event: a release pushed after `up`.
      await pushImage(site, "production/app", "v1.1.0", "layer of v1.1.0");
      await eventually(
        () => atLyon("production/app", "v1.1.0"),
        "production/app:v1.1.0 at the second site",
        executions,
      );
      await eventually(
        () => receiver.deliveries.some((d) => d.body["type"] === "REPLICATION"),
        "a REPLICATION delivery",
      );

      // The header is a secret in the state (exportStack opens the envelopes), the targets are not.
      const deployment = (await test.stack.exportStack()).deployment as {
        resources: Array<{ type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }>;
      };
      const stored = deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/registry:WebhookPolicy");
      for (const side of [stored?.inputs, stored?.outputs]) {
        expect(side?.["authHeaders"]).toMatchObject({ [SECRET_SIG]: expect.any(String) as unknown });
        expect(JSON.stringify(side?.["targets"])).not.toContain(HOOK_HEADER);
        expect(side?.["targets"]).toEqual([
          { address: `${receiver.url}/hooks/registry`, type: "http", skipCertVerify: false, payloadFormat: "Default" },
        ]);
      }

      // Nothing left to change: eventBased, the filters' order, the header, the address's slash.
      const again = await test.stack.preview();
      expect(changes(again.changeSummary)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows a policy disabled and refiltered by hand and a webhook's events changed as drift; up restores them",
    async () => {
      const policy = await livePolicy();
      const edited = {
        ...policy,
        enabled: false,
        filters: [{ type: "tag", value: "release-*", decoration: "matches" }],
      };
      expect((await call(site, "PUT", `/api/v2.0/replication/policies/${policy.id}`, { body: edited })).status).toBe(
        200,
      );
      const hook = await liveWebhook();
      const webhookEdit = { ...hook, event_types: ["PUSH_ARTIFACT"] };
      expect(
        (await call(site, "PUT", `/api/v2.0/projects/production/webhook/policies/${hook.id}`, { body: webhookEdit }))
          .status,
      ).toBe(200);

      const events: EngineEvent[] = [];
      const refresh = await test.stack.refresh({ onEvent: (event) => events.push(event) });
      expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 2 });
      expect(refreshedInputs(events)).toEqual([
        "registry-replication-production-to-lyon: enabled,filters",
        "registry-webhook-production-ci-events: eventTypes",
      ]);

      const preview = await test.stack.preview();
      expect(changes(preview.changeSummary)).toEqual({ update: 2 });
      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ update: 2 });
      expect(await livePolicy()).toMatchObject({ enabled: true });
      expect((await livePolicy())["filters"]).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: "tag", value: "v*" })]),
      );
      expect(((await liveWebhook())["event_types"] as string[]).sort()).toEqual(["PUSH_ARTIFACT", "REPLICATION"]);

      // Enabled and filtered again: a new release replicates.
      await pushImage(site, "production/app", "v1.2.0", "layer of v1.2.0");
      await eventually(
        () => atLyon("production/app", "v1.2.0"),
        "production/app:v1.2.0 at the second site",
        executions,
      );

      const settled = await test.stack.refresh();
      expect(changes(settled.summary.resourceChanges)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );
});
