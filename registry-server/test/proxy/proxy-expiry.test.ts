// A proxy-cache project's expiry, with the lifecycle's clock moved days ahead: the project gets
// Harbor's default policy when it is made (not pulled for 7 days goes, checked daily), an image
// nobody pulled for 8 days goes, one pulled 3 days ago stays, and one a preheat fetched stays
// however long nobody pulls it (what the DMZ preheated must outlive an upstream outage), as does
// one pinned through the API. What went is fetched again from the upstream on the next pull.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";

const DAY_MS = 86_400_000;
/** How long the registry may take to write pull times (content/access-recorder.ts). */
const PULL_TIMES_WRITTEN_MS = 5_500;

describe("proxy-cache expiry", () => {
  let upstream: TestRegistry;
  let registry: TestRegistry;
  let api: HarborClient;
  let client: OciClient;
  let now = Date.now();

  beforeAll(async () => {
    upstream = await startTestRegistry();
    const source = new OciClient(upstream.url);
    for (const name of ["pulled-long-ago", "pulled-lately", "preheated", "pinned"]) {
      await source.pushImage(`library/${name}`, "1.0", { layer: `layer of ${name}` });
    }
    registry = await startTestRegistry({}, { lifecycleClock: () => now });
    api = new HarborClient(registry.url);
    client = new OciClient(registry.url);
    const endpoint = await api.call("POST", "/registries", {
      body: {
        name: "upstream",
        type: "docker-registry",
        url: upstream.url,
        credential: { type: "basic", access_key: ADMIN.username, access_secret: ADMIN.password },
      },
    });
    const registryId = idFromLocation(endpoint, "/api/v2.0/registries/");
    expect(
      (await api.call("POST", "/projects", { body: { project_name: "hub", registry_id: registryId } })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await registry?.stop();
    await upstream?.stop();
  });

  const pull = async (name: string): Promise<number> =>
    (await client.request("GET", `/v2/hub/library/${name}/manifests/1.0`, { headers: { Accept: OCI_MANIFEST } }))
      .status;
  const cached = async (): Promise<string[]> => {
    const repositories = (await api.get("/projects/hub/repositories")).json as Array<{ name: string }>;
    const names: string[] = [];
    for (const repository of repositories) {
      const short = repository.name.slice("hub/".length);
      const artifacts = (
        await api.get(`/projects/hub/repositories/${encodeURIComponent(encodeURIComponent(short))}/artifacts`)
      ).json as unknown[];
      if (artifacts.length > 0) names.push(short);
    }
    return names.sort();
  };

  let policyId: number;

  it("gets Harbor's default expiry when the project is made", async () => {
    const project = (await api.get("/projects/hub")).json as { metadata: Record<string, string> };
    policyId = Number(project.metadata["retention_id"]);
    expect(policyId).toBeGreaterThan(0);
    const policy = (await api.get(`/retentions/${policyId}`)).json as {
      rules: Array<{ template: string; params: Record<string, number> }>;
      trigger: { settings: { cron: string } };
    };
    expect(policy.rules.map((rule) => [rule.template, rule.params])).toEqual([
      ["nDaysSinceLastPull", { nDaysSinceLastPull: 7 }],
    ]);
    expect(policy.trigger.settings.cron).toBe("0 0 0 * * *");
  });

  it("removes what nobody pulled for longer, keeps what was pulled lately, preheated or pinned", async () => {
    for (const name of ["pulled-long-ago", "pulled-lately", "pinned"]) expect(await pull(name)).toBe(200);
    const preheat = await api.call("POST", "/projects/hub/preheat", { body: { images: ["library/preheated:1.0"] } });
    expect(preheat.status, preheat.text).toBe(201);
    const job = (preheat.headers.get("location") ?? "").replace(/^\/api\/v2\.0/, "");
    for (let round = 0; round < 200; round++) {
      if (((await api.get(job)).json as { status: string }).status !== "running") break;
      await sleep(50);
    }
    expect(((await api.get(job)).json as { status: string }).status).toBe("succeeded");
    const pin = await api.call("PUT", "/projects/hub/repositories/library%252Fpinned/artifacts/1.0/pin");
    expect(pin.status, pin.text).toBe(200);
    expect((await api.get("/projects/hub/repositories/library%252Fpinned/artifacts/1.0/pin")).json).toEqual({
      pinned: true,
      reasons: ["api"],
    });
    await sleep(PULL_TIMES_WRITTEN_MS);

    // Five days on, one image is pulled again; eight days on, the policy runs.
    now += 5 * DAY_MS;
    expect(await pull("pulled-lately")).toBe(200);
    await sleep(PULL_TIMES_WRITTEN_MS);
    now += 3 * DAY_MS;
    const started = await api.call("POST", `/retentions/${policyId}/executions`, { body: { dry_run: false } });
    expect(started.status, started.text).toBe(201);
    const executionId = idFromLocation(started, `/api/v2.0/retentions/${policyId}/executions/`);
    let status = "";
    for (let round = 0; round < 200 && !["Success", "Error", "Stopped"].includes(status); round++) {
      const executions = (await api.get(`/retentions/${policyId}/executions`)).json as Array<{
        id: number;
        status: string;
      }>;
      status = executions.find((each) => each.id === executionId)?.status ?? "";
      if (status !== "Success") await sleep(50);
    }
    expect(status).toBe("Success");
    expect(await cached()).toEqual(["library/pinned", "library/preheated", "library/pulled-lately"]);

    // Gone from the cache, not from the world: the next pull fetches it again.
    expect(await pull("pulled-long-ago")).toBe(200);
    expect(await cached()).toContain("library/pulled-long-ago");
  }, 60_000);
});
