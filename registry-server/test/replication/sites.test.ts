// Replication between two sites, as the DMZ guide runs it: our registry as "paris" and again as
// "lyon" on loopback, and CNCF Distribution (Debian's docker-registry) as a foreign registry.
// Policies are made through Harbor's API and run on the job system:
//   - event-based push replication of `production/**` tags `v*` only: a multi-platform image with
//     its cosign signature (real cosign) and an SBOM (real oras, OCI referrers) arrives whole in
//     lyon and in Distribution, digests identical; other repositories and tags stay home; the
//     deletion is replicated;
//   - lyon stopped in the middle of a slow (speed-limited) execution, then started again: the
//     execution completes and no blob arrived twice (counted on lyon);
//   - a scheduled pull replication from Distribution into a paris project.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient, idFromLocation, type ApiReply } from "../api/harbor-client.ts";
import { OCI_INDEX, OCI_MANIFEST, OciClient, descriptorOf, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, tempDir } from "../helpers.ts";
import { startDistribution, type DistributionServer } from "../upstream/distribution-server.ts";
import { startSite, type Site } from "./site.ts";

const TOOLS = path.resolve(import.meta.dirname, "../../../.tools/bin");
const COMMAND_TIMEOUT_MS = 120_000;
const FOREIGN_USER = { username: "replicator", password: "replicator-secret" };
const SBOM_TYPE = "application/spdx+json";

interface Execution {
  id: number;
  status: string;
  total: number;
  succeed: number;
  failed: number;
}

/** Polls `probe` every 250 ms until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function expectStatus(reply: ApiReply, status: number): void {
  expect(reply.status, reply.text).toBe(status);
}

describe("replication between sites", () => {
  let paris: Site;
  let lyon: Site;
  let foreign: DistributionServer;
  let work: { dir: string; remove: () => void };
  let parisApi: HarborClient;
  let lyonApi: HarborClient;
  let parisOci: OciClient;
  let lyonOci: OciClient;
  let foreignOci: OciClient;
  let lyonId: number;
  let foreignId: number;

  async function run(tool: "cosign" | "oras", args: string[]): Promise<string> {
    const host = new URL(paris.url).host;
    const docker = path.join(work.dir, "docker");
    if (!existsSync(docker)) {
      mkdirSync(docker, { recursive: true });
      const auth = Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64");
      writeFileSync(path.join(docker, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    }
    const env = {
      PATH: process.env["PATH"],
      HOME: work.dir,
      DOCKER_CONFIG: docker,
      COSIGN_PASSWORD: "site-key-password",
      TUF_ROOT: path.join(work.dir, "tuf"),
    };
    const outcome = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn(path.join(TOOLS, tool), args, {
        env,
        cwd: work.dir,
        stdio: ["ignore", "pipe", "pipe"],
        timeout: COMMAND_TIMEOUT_MS,
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.on("error", (err) => reject(new Error(`${tool} could not run: ${err.message}`)));
      child.on("close", (status) => resolve({ status, output }));
    });
    if (outcome.status !== 0)
      throw new Error(`${tool} ${args.join(" ")} exited with ${outcome.status}:\n${outcome.output}`);
    return outcome.output;
  }

  async function createEndpoint(name: string, type: string, url: string, credential: typeof ADMIN): Promise<number> {
    const reply = await parisApi.call("POST", "/registries", {
      body: {
        name,
        type,
        url,
        insecure: false,
        credential: { type: "basic", access_key: credential.username, access_secret: credential.password },
      },
    });
    expectStatus(reply, 201);
    return idFromLocation(reply, "/api/v2.0/registries/");
  }

  async function createPolicy(body: Record<string, unknown>): Promise<number> {
    const reply = await parisApi.call("POST", "/replication/policies", {
      body: { enabled: true, override: true, dest_namespace_replace_count: -1, ...body },
    });
    expectStatus(reply, 201);
    return idFromLocation(reply, "/api/v2.0/replication/policies/");
  }

  async function executions(policyId: number): Promise<Execution[]> {
    const reply = await parisApi.call("GET", `/replication/executions?policy_id=${policyId}&page_size=100`);
    expectStatus(reply, 200);
    return reply.json as Execution[];
  }

  /** The digest `reference` resolves to in `repository` of a registry, or undefined. */
  async function digestAt(client: OciClient, repository: string, reference: string): Promise<string | undefined> {
    const response = await client.request("HEAD", `/v2/${repository}/manifests/${reference}`, {
      headers: { Accept: [OCI_INDEX, OCI_MANIFEST].join(", ") },
    });
    return response.status === 200 ? (response.headers.get("docker-content-digest") ?? undefined) : undefined;
  }

  /** Pushes an image manifest by digest (no tag: no event) with its config and one layer. */
  async function pushPlatformImage(
    repository: string,
    architecture: string,
    layerBytes: number,
  ): Promise<{ digest: string; size: number; blobs: string[] }> {
    const config = JSON.stringify({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [] } });
    const layer = randomBytes(layerBytes);
    await parisOci.pushBlob(repository, config);
    await parisOci.pushBlob(repository, layer);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
      layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    const { response } = await parisOci.pushManifest(repository, digest, manifest, OCI_MANIFEST);
    expect(response.status, await response.clone().text()).toBe(201);
    return { digest, size: bytes.length, blobs: [sha256(config), sha256(layer)] };
  }

  /** A two-platform image tagged `tag`; returns the index's digest and its children's. */
  async function pushMultiPlatform(repository: string, tag: string): Promise<{ index: string; children: string[] }> {
    const amd64 = await pushPlatformImage(repository, "amd64", 64 * 1024);
    const arm64 = await pushPlatformImage(repository, "arm64", 48 * 1024);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: amd64.digest,
          size: amd64.size,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: arm64.digest,
          size: arm64.size,
          platform: { os: "linux", architecture: "arm64" },
        },
      ],
    };
    const { response, digest } = await parisOci.pushManifest(repository, tag, index, OCI_INDEX);
    expect(response.status, await response.clone().text()).toBe(201);
    return { index: digest, children: [amd64.digest, arm64.digest] };
  }

  beforeAll(async () => {
    work = tempDir("sites");
    [paris, lyon, foreign] = await Promise.all([
      startSite("paris"),
      startSite("lyon"),
      startDistribution({ users: { [FOREIGN_USER.username]: FOREIGN_USER.password } }),
    ]);
    parisApi = new HarborClient(paris.url);
    lyonApi = new HarborClient(lyon.url);
    parisOci = new OciClient(paris.url);
    lyonOci = new OciClient(lyon.url);
    foreignOci = new OciClient(foreign.url, FOREIGN_USER);
    for (const project of ["production", "staging", "bulk", "mirror"]) await parisApi.createProject(project, false);
    for (const project of ["production", "bulk"]) await lyonApi.createProject(project, false);
    lyonId = await createEndpoint("lyon", "harbor", lyon.url, ADMIN);
    foreignId = await createEndpoint("distribution", "docker-registry", foreign.url, FOREIGN_USER);
    await run("cosign", ["generate-key-pair", "--output-key-prefix", path.join(work.dir, "cosign")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([paris?.remove(), lyon?.remove(), foreign?.stop()]);
    work?.remove();
  });

  it("replicates matching pushes whole to lyon and to Distribution, and their deletion", async () => {
    const toLyon = await createPolicy({
      name: "production-to-lyon",
      dest_registry: { id: lyonId },
      dest_namespace: "",
      trigger: { type: "event_based" },
      filters: [
        { type: "name", value: "production/**" },
        { type: "tag", value: "v*", decoration: "matches" },
      ],
      replicate_deletion: true,
    });
    await createPolicy({
      name: "production-to-distribution",
      dest_registry: { id: foreignId },
      dest_namespace: "dr",
      trigger: { type: "event_based" },
      filters: [
        { type: "name", value: "production/**" },
        { type: "tag", value: "v*", decoration: "matches" },
      ],
    });

    const image = await pushMultiPlatform("production/app", "v1.0.0");
    const host = new URL(paris.url).host;
    await run("cosign", [
      "sign",
      "--key",
      path.join(work.dir, "cosign.key"),
      "--tlog-upload=false",
      "--yes",
      "--allow-http-registry",
      `${host}/production/app@${image.index}`,
    ]);
    const sbomFile = path.join(work.dir, "sbom.spdx.json");
    writeFileSync(sbomFile, JSON.stringify({ spdxVersion: "SPDX-2.3", name: "app", packages: [] }));
    await run("oras", [
      "attach",
      "--plain-http",
      "--artifact-type",
      SBOM_TYPE,
      `${host}/production/app@${image.index}`,
      `sbom.spdx.json:${SBOM_TYPE}`,
    ]);
    const signatureTag = `${image.index.replace(":", "-")}.sig`;
    const signature = await digestAt(parisOci, "production/app", signatureTag);
    expect(signature).toBeDefined();
    const referrers = (await (await parisOci.request("GET", `/v2/production/app/referrers/${image.index}`)).json()) as {
      manifests: Array<{ digest: string; artifactType?: string }>;
    };
    const sbom = referrers.manifests.find((m) => m.artifactType === SBOM_TYPE)?.digest;
    expect(sbom).toBeDefined();
    // What must stay home: another project, another tag.
    await parisOci.pushImage("staging/app", "v1.0.0");
    await parisOci.pushImage("production/app", "dev");

    // Lyon: the index, both platforms, the signature tag and the SBOM referrer, same digests.
    await eventually("the image, its signature and its SBOM in lyon", 60_000, async () => {
      const index = await digestAt(lyonOci, "production/app", "v1.0.0");
      const sig = await digestAt(lyonOci, "production/app", signatureTag);
      const found = await lyonOci.request("GET", `/v2/production/app/referrers/${image.index}`);
      const listed =
        found.status === 200 ? ((await found.json()) as { manifests: Array<{ digest: string }> }) : undefined;
      return index && sig && listed?.manifests.some((m) => m.digest === sbom) ? true : undefined;
    });
    expect(await digestAt(lyonOci, "production/app", "v1.0.0")).toBe(image.index);
    for (const child of image.children) expect(await digestAt(lyonOci, "production/app", child)).toBe(child);
    expect(await digestAt(lyonOci, "production/app", signatureTag)).toBe(signature);
    expect(await digestAt(lyonOci, "production/app", sbom ?? "")).toBe(sbom);
    expect(await digestAt(lyonOci, "production/app", "dev")).toBeUndefined();
    expect((await lyonApi.call("GET", "/projects/staging")).status).toBe(404);

    // Distribution, under dr/: the index, its platforms and the signature, same digests.
    await eventually("the image in Distribution", 60_000, async () =>
      (await digestAt(foreignOci, "dr/app", "v1.0.0")) === image.index &&
      (await digestAt(foreignOci, "dr/app", signatureTag)) === signature
        ? true
        : undefined,
    );
    for (const child of image.children) expect(await digestAt(foreignOci, "dr/app", child)).toBe(child);
    expect(await digestAt(foreignOci, "dr/app", "dev")).toBeUndefined();

    // Every execution of the lyon policy ended well.
    const ended = await eventually("lyon's executions to end", 30_000, async () => {
      const list = await executions(toLyon);
      return list.length > 0 && list.every((e) => e.status !== "InProgress") ? list : undefined;
    });
    expect(ended.map((e) => e.status)).not.toContain("Failed");

    // The deletion travels (replicate_deletion).
    expectStatus(await parisApi.call("DELETE", `/projects/production/repositories/app/artifacts/${image.index}`), 200);
    await eventually("the deletion in lyon", 60_000, async () =>
      (await digestAt(lyonOci, "production/app", image.index)) === undefined ? true : undefined,
    );
  }, 240_000);

  it("completes an execution whose destination stopped midway, sending no blob twice", async () => {
    const layers = 6;
    const blobs: string[] = [];
    // A config of its own: lyon holds the first test's, which a digest count would mix in.
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { bulk: randomBytes(8).toString("hex") } },
      rootfs: { type: "layers", diff_ids: [] },
    });
    blobs.push(await parisOci.pushBlob("bulk/big", config));
    const descriptors = [];
    for (let i = 0; i < layers; i++) {
      const layer = randomBytes(2 * 1024 * 1024);
      blobs.push(await parisOci.pushBlob("bulk/big", layer));
      descriptors.push(descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer));
    }
    const { response, digest } = await parisOci.pushManifest(
      "bulk/big",
      "1",
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
        layers: descriptors,
      },
      OCI_MANIFEST,
    );
    expect(response.status).toBe(201);
    // 12 MiB at 1 MiB/s: the execution takes ~12 s, long enough to stop lyon in the middle.
    const policy = await createPolicy({
      name: "bulk-to-lyon",
      dest_registry: { id: lyonId },
      dest_namespace: "",
      trigger: { type: "manual" },
      filters: [{ type: "name", value: "bulk/**" }],
      speed: 1024,
    });
    const started = await parisApi.call("POST", "/replication/executions", { body: { policy_id: policy } });
    expectStatus(started, 201);
    const executionId = idFromLocation(started, "/api/v2.0/replication/executions/");

    const received = (): number => blobs.filter((blob) => lyon.blobsReceived.has(blob)).length;
    await eventually("two blobs in lyon", 60_000, async () => (received() >= 2 ? true : undefined));
    await lyon.stop();
    const whenStopped = received();
    expect(whenStopped).toBeLessThan(blobs.length);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await lyon.start();

    const execution = await eventually("the execution to end", 120_000, async () => {
      const reply = await parisApi.call("GET", `/replication/executions/${executionId}`);
      const body = reply.json as Execution;
      return body.status === "InProgress" ? undefined : body;
    });
    expect(execution.status).toBe("Succeed");
    // It did meet the outage: its task's log shows the tries that found lyon gone.
    const tasks = (await parisApi.call("GET", `/replication/executions/${executionId}/tasks`)).json as Array<{
      id: number;
    }>;
    const logs = await Promise.all(
      tasks.map(
        async (task) =>
          (await parisApi.call("GET", `/replication/executions/${executionId}/tasks/${task.id}/log`)).text,
      ),
    );
    expect(logs.join("\n")).toMatch(/\[WARNING\] .* failed \((unreachable|timeout|server-error)/);
    expect(await digestAt(lyonOci, "bulk/big", "1")).toBe(digest);
    for (const blob of blobs) expect(lyon.blobsReceived.get(blob), blob).toBe(1);
  }, 240_000);

  it("pulls from Distribution on a schedule", async () => {
    const source = await foreignOci.pushImage("team/tool", "1.0");
    const policy = await createPolicy({
      name: "tools-from-distribution",
      src_registry: { id: foreignId },
      dest_namespace: "mirror",
      dest_namespace_replace_count: 1,
      trigger: { type: "scheduled", trigger_settings: { cron: "*/2 * * * * *" } },
      filters: [{ type: "name", value: "team/**" }],
    });
    await eventually("the image pulled into mirror/tool", 60_000, async () =>
      (await digestAt(parisOci, "mirror/tool", "1.0")) === source.digest ? true : undefined,
    );
    const list = await executions(policy);
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((e) => e.status !== "Failed")).toBe(true);
    // Stop the schedule before the sites go.
    const current = (await parisApi.call("GET", `/replication/policies/${policy}`)).json as Record<string, unknown>;
    expectStatus(
      await parisApi.call("PUT", `/replication/policies/${policy}`, { body: { ...current, enabled: false } }),
      200,
    );
  }, 120_000);
});
