// The proxy cache in a DMZ's shape: CNCF Distribution 2.8 (Debian's docker-registry) with basic
// auth as the upstream, reached only through the corporate proxy (a CONNECT/forwarding proxy the
// test starts, the only one that knows the upstream's host name), and skopeo pulling from the
// proxy-cache project; then the upstream stops and the cached image still pulls.

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { DOCKER_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { startDistribution, type DistributionServer } from "../upstream/distribution-server.ts";
import { startConnectProxy, type ConnectProxy } from "../upstream/test-servers.ts";
import { pushDockerImage } from "../upstream/upstream-helpers.ts";

const PULLER = { username: "dmz-puller", password: "puller-password" };
/** Only the egress proxy resolves this name: a direct connection could not succeed. */
const UPSTREAM_HOST = "upstream.dmz.test";

describe("a Distribution upstream behind the corporate proxy", () => {
  let distribution: DistributionServer;
  let egress: ConnectProxy;
  let registry: TestRegistry;
  let image: { digest: string; bytes: Buffer };
  const layer = `layer pulled through the DMZ ${Date.now()}`;

  beforeAll(async () => {
    distribution = await startDistribution({ users: { [PULLER.username]: PULLER.password } });
    image = await pushDockerImage(new OciClient(distribution.url, PULLER), "team/app", "1.0", layer);
    egress = await startConnectProxy({ hosts: { [UPSTREAM_HOST]: "127.0.0.1" } });
    registry = await startTestRegistry({
      upstream: { httpProxy: egress.url, httpsProxy: egress.url, timeoutMs: 5_000, healthCheckIntervalMs: 300_000 },
    });
    const api = new HarborClient(registry.url);
    const endpoint = await api.call("POST", "/registries", {
      body: {
        name: "customer",
        type: "docker-registry",
        url: `http://${UPSTREAM_HOST}:${distribution.port}`,
        credential: { type: "basic", access_key: PULLER.username, access_secret: PULLER.password },
      },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
    const project = await api.call("POST", "/projects", {
      body: {
        project_name: "customer-proxy",
        registry_id: idFromLocation(endpoint, "/api/v2.0/registries/"),
        metadata: { public: "true" },
      },
    });
    expect(project.status, project.text).toBe(201);
  });
  afterAll(async () => {
    await registry.stop();
    await egress.stop();
    await distribution.stop();
  });

  it("pulls with skopeo through the proxy project, every upstream request through the egress proxy", async () => {
    const work = tempDir("dmz-skopeo");
    try {
      const host = `127.0.0.1:${new URL(registry.url).port}`;
      const reference = `docker://${host}/customer-proxy/team/app:1.0`;
      const raw = await runProcess("skopeo", ["inspect", "--raw", "--tls-verify=false", reference], {
        env: { HOME: work.dir },
      });
      expect(raw.status, raw.stderr).toBe(0);
      // Docker schema 2, indented: served byte for byte, so the digest is the upstream's.
      expect(sha256(raw.stdout)).toBe(image.digest);
      const layout = path.join(work.dir, "layout");
      const copy = await runProcess("skopeo", ["copy", "--src-tls-verify=false", reference, `dir:${layout}`], {
        env: { HOME: work.dir },
      });
      expect(copy.status, copy.stderr).toBe(0);
      const layerDigest = sha256(layer);
      expect(readFileSync(path.join(layout, layerDigest.slice("sha256:".length)), "utf8")).toBe(layer);
      expect(JSON.parse(readFileSync(path.join(layout, "manifest.json"), "utf8"))).toMatchObject({
        mediaType: DOCKER_MANIFEST,
      });

      // Every upstream request went through the proxy, to the upstream's name.
      expect(egress.forwarded.length).toBeGreaterThanOrEqual(3);
      for (const target of egress.forwarded) expect(new URL(target).host).toBe(`${UPSTREAM_HOST}:${distribution.port}`);
    } finally {
      work.remove();
    }
  });

  it("serves the cached image once the upstream is down", async () => {
    await distribution.kill();
    const client = new OciClient(registry.url, null);
    const manifest = await client.request("GET", "/v2/customer-proxy/team/app/manifests/1.0", {
      headers: { Accept: DOCKER_MANIFEST },
    });
    expect(manifest.status).toBe(200);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(image.bytes)).toBe(true);
  });
});
