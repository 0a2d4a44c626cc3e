// The proxy cache declared in a stack, through the real engine: a registry endpoint for an
// upstream registry (a second registry process on loopback), a public proxy-cache project with a
// pull-only robot, a preheat list and the transparent mirror. Up creates them and fills the
// cache; changes made by hand show as drift and up puts them back; a credentialVersion bump sends
// the credential again; with the upstream gone, what was preheated is still served.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import {
  ADMIN_PASSWORD,
  type Endpoint,
  type RegistryProcess,
  call,
  pushImage,
  sha256,
  startRegistryProcess,
} from "./registry-calls";

const STEP_TIMEOUT_MS = 300_000;

describe("a proxy cache declared in the stack", () => {
  let test: TestStack;
  let upstream: RegistryProcess;
  let upstreamWorkDir: string;
  let local: Endpoint;
  let port: number;
  let nginxDigest: string;

  const config = (credentialVersion: number) => ({
    local: { port, stateDir: path.join(test.workDir, "registry"), logLevel: "warn", removeDataOnDestroy: true },
    adminPassword: ADMIN_PASSWORD,
    registries: [
      {
        name: "upstream",
        type: "docker-registry",
        url: upstream.url,
        credential: { accessKey: "admin", accessSecret: ADMIN_PASSWORD },
        credentialVersion,
      },
    ],
    proxyProjects: [
      {
        name: "hub",
        registry: "upstream",
        public: true,
        preheat: { images: ["library/nginx:1.25"] },
        robots: [{ name: "nodes", actions: ["pull"] }],
      },
    ],
    mirror: { defaultProject: "hub" },
  });

  async function setConfig(credentialVersion: number): Promise<void> {
    for (const [key, value] of Object.entries(config(credentialVersion))) {
      await test.stack.setConfig(`airlock:${key}`, {
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret: key === "adminPassword" || key === "registries",
      });
    }
  }

  /** A manifest through the transparent mirror: no project prefix, as a cluster node asks. */
  async function mirrorPull(repository: string, tag: string): Promise<{ status: number; digest: unknown }> {
    const reply = await call(local, "GET", `/v2/${repository}/manifests/${tag}`);
    return { status: reply.status, digest: reply.headers["docker-content-digest"] };
  }

  async function endpointId(): Promise<number> {
    const list = (await call(local, "GET", "/api/v2.0/registries")).json as Array<{ id: number; name: string }>;
    const found = list.find((r) => r.name === "upstream");
    if (!found) throw new Error("no registry endpoint named upstream");
    return found.id;
  }

  beforeAll(async () => {
    upstreamWorkDir = mkdtempSync(path.join(tmpdir(), "airlock-e2e-upstream-"));
    upstream = await startRegistryProcess(path.join(upstreamWorkDir, "data"));
    const upstreamEndpoint = { url: upstream.url, host: upstream.host, ca: "", certDir: "" };
    await pushImage(upstreamEndpoint, "library/nginx", "1.25");
    await pushImage(upstreamEndpoint, "team/app", "1.0");
    const head = await call(upstreamEndpoint, "GET", "/v2/library/nginx/manifests/1.25");
    nginxDigest = String(head.headers["docker-content-digest"]);
    port = await freePort();
    test = await createTestStack(() => ({}));
    await setConfig(1);
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await destroyAndRemove(test);
    } finally {
      await upstream.stop();
      rmSync(upstreamWorkDir, { recursive: true, force: true });
    }
  }, STEP_TIMEOUT_MS);

  it(
    "up creates the endpoint, the proxy project and its robot, and preheats the cache",
    async () => {
      const result = await test.stack.up();
      const created = changes(result.summary.resourceChanges)["create"] ?? 0;
      expect(created).toBeGreaterThanOrEqual(10);
      const ca = result.outputs["caCertificate"]?.value as string;
      const certDir = path.join(test.workDir, "certs");
      mkdirSync(certDir, { recursive: true });
      writeFileSync(path.join(certDir, "ca.crt"), ca);
      local = { url: result.outputs["url"]?.value as string, host: `localhost:${port}`, ca, certDir };

      expect(result.outputs["preheated"]?.value).toEqual({ hub: { "library/nginx:1.25": nginxDigest } });
      const robots = result.outputs["robots"]?.value as Record<string, { username: string }>;
      expect(robots["hub/nodes"]?.username).toBe("robot$hub+nodes");

      const endpoint = (await call(local, "GET", `/api/v2.0/registries/${await endpointId()}`)).json as {
        url: string;
        credential: { access_key: string; access_secret: string };
      };
      expect(endpoint.url).toBe(upstream.url);
      expect(endpoint.credential).toMatchObject({ access_key: "admin", access_secret: "*****" });

      const pulled = await mirrorPull("library/nginx", "1.25");
      expect(pulled).toEqual({ status: 200, digest: nginxDigest });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows an edited endpoint and a lost preheated image as drift, and up puts them back",
    async () => {
      const id = await endpointId();
      const edited = await call(local, "PUT", `/api/v2.0/registries/${id}`, {
        body: { description: "edited by hand", insecure: true },
      });
      expect(edited.status).toBe(200);
      expect((await call(local, "DELETE", "/v2/hub/library/nginx/manifests/1.25")).status).toBe(202);

      const preview = await test.stack.previewRefresh({ expectNoChanges: true }).then(
        () => new Error("the refresh preview should have found drift"),
        (err: Error) => err,
      );
      expect(preview.message).toContain("Command failed with exit code 7");
      const refresh = await test.stack.refresh();
      expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 2 });

      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ update: 2 });
      const endpoint = (await call(local, "GET", `/api/v2.0/registries/${id}`)).json as {
        description: string;
        insecure: boolean;
      };
      expect(endpoint).toMatchObject({ description: "", insecure: false });
      const artifacts = await call(local, "GET", "/api/v2.0/projects/hub/repositories/library%252Fnginx/artifacts");
      const tags = (artifacts.json as Array<{ tags: Array<{ name: string }> }>).flatMap((a) =>
        a.tags.map((t) => t.name),
      );
      expect(tags).toContain("1.25");

      const clean = await test.stack.previewRefresh({ expectNoChanges: true });
      expect(changes(clean.changeSummary)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "sends the credential again when credentialVersion changes, and the endpoint still works",
    async () => {
      await setConfig(2);
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({ update: 1 });
      const ping = await call(local, "POST", "/api/v2.0/registries/ping", { body: { id: await endpointId() } });
      expect(ping.status).toBe(200);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "keeps serving what was preheated once the upstream is gone; what was not fails clearly",
    async () => {
      await upstream.stop();
      expect(await mirrorPull("library/nginx", "1.25")).toEqual({ status: 200, digest: nginxDigest });
      const layer = await call(local, "GET", `/v2/hub/library/nginx/blobs/${sha256(Buffer.from("e2e layer"))}`);
      expect(layer.status).toBe(200);
      const missing = await call(local, "GET", "/v2/hub/team/app/manifests/1.0");
      expect(missing.status).toBe(503);
      expect(JSON.stringify(missing.json)).toContain("upstream registry upstream cannot be reached");
    },
    STEP_TIMEOUT_MS,
  );
});
