// The transparent mirror: pulls without a project prefix reach a proxy-cache project, routed by
// containerd's `ns` parameter, by the Host header, or to the default project; with plain HTTP
// and with skopeo configured with a registries.conf mirror, as cluster nodes are.

import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idFromLocation } from "../api/harbor-client.ts";
import { OCI_MANIFEST, OciClient, descriptorOf, sha256 } from "../distribution/oci-client.ts";
import { tempDir } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { startProxyFixture, type ProxyFixture } from "./proxy-fixture.ts";

describe("the transparent mirror", () => {
  let f: ProxyFixture;
  let image: { digest: string; bytes: Buffer; layerDigest: string };
  let quayImage: { digest: string };

  beforeAll(async () => {
    f = await startProxyFixture({
      proxyConfig: {
        mirror: { defaultProject: "hub", namespaces: { "quay.io": "quay" }, hosts: { "mirror.test": "quay" } },
      },
    });
    image = await pushGzipImage(f, "library/nginx", "1.25");
    quayImage = await f.upstreamClient.pushImage("prometheus/prometheus", "v2", { layer: "prometheus layer" });
    // A second proxy-cache project on the same upstream, standing for Quay.
    const endpoints = await f.api.call("GET", "/registries");
    const registryId = (endpoints.json as Array<{ id: number }>)[0]?.id;
    const quay = await f.api.call("POST", "/projects", {
      body: { project_name: "quay", registry_id: registryId, metadata: { public: "true" } },
    });
    expect(quay.status, quay.text).toBe(201);
    idFromLocation(quay, "/api/v2.0/projects/");
  });
  afterAll(async () => {
    await f.stop();
  });

  async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return f.client.request("GET", path, { headers: { Accept: OCI_MANIFEST, ...headers } });
  }

  it("routes containerd's ns=docker.io to the default project", async () => {
    const response = await get("/v2/library/nginx/manifests/1.25?ns=docker.io");
    expect(response.status).toBe(200);
    expect(response.headers.get("docker-content-digest")).toBe(image.digest);
    // It landed in the proxy-cache project, where the management API lists it.
    const repositories = await f.api.call("GET", "/projects/hub/repositories");
    expect((repositories.json as Array<{ name: string }>).map((r) => r.name)).toContain("hub/library/nginx");
  });

  it("routes another ns to the project its rule names, and a Host rule the same way", async () => {
    const byNs = await get("/v2/prometheus/prometheus/manifests/v2?ns=quay.io");
    expect(byNs.status).toBe(200);
    expect(byNs.headers.get("docker-content-digest")).toBe(quayImage.digest);
    const byHost = await fetch(`${f.proxy.url}/v2/prometheus/prometheus/manifests/v2`, {
      headers: { Accept: OCI_MANIFEST, Host: "mirror.test:443" },
    });
    expect(byHost.status).toBe(200);
    const repositories = await f.api.call("GET", "/projects/quay/repositories");
    expect((repositories.json as Array<{ name: string }>).map((r) => r.name)).toContain("quay/prometheus/prometheus");
  });

  it("sends a name without ns to the default project unless its first segment is a project", async () => {
    const blob = await f.client.request("GET", `/v2/library/nginx/manifests/1.25`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(blob.status).toBe(200);
    // "quay/…" names a project: it is served by that project as usual, not rewritten.
    const direct = await get("/v2/quay/prometheus/prometheus/manifests/v2");
    expect(direct.status).toBe(200);
  });

  it("leaves an unknown ns and every push alone", async () => {
    const admin = new OciClient(f.proxy.url);
    const unknown = await admin.request("GET", "/v2/library/nginx/manifests/1.25?ns=registry.example");
    expect(unknown.status).toBe(404);
    expect(await admin.errorCode(unknown)).toBe("NAME_UNKNOWN");
    const push = await f.client.request("POST", "/v2/library/nginx/blobs/uploads/?ns=docker.io");
    expect(push.status).toBe(401);
  });

  it("serves skopeo configured with a registries.conf mirror for docker.io, names unchanged", async () => {
    const work = tempDir("mirror");
    try {
      const host = `127.0.0.1:${new URL(f.proxy.url).port}`;
      const conf = path.join(work.dir, "registries.conf");
      writeFileSync(
        conf,
        [
          'unqualified-search-registries = ["docker.io"]',
          "[[registry]]",
          'location = "docker.io"',
          "[[registry.mirror]]",
          `location = "${host}"`,
          "insecure = true",
        ].join("\n"),
      );
      const options = ["--registries-conf", conf];
      const raw = await runProcess(
        "skopeo",
        [...options, "inspect", "--raw", "docker://docker.io/library/nginx:1.25"],
        { env: { HOME: work.dir } },
      );
      expect(raw.status, raw.stderr).toBe(0);
      expect(sha256(raw.stdout)).toBe(image.digest);
      const layout = path.join(work.dir, "layout");
      const copy = await runProcess(
        "skopeo",
        [...options, "copy", "--retry-times", "0", "docker://docker.io/library/nginx:1.25", `oci:${layout}:1.25`],
        { env: { HOME: work.dir } },
      );
      expect(copy.status, copy.stderr).toBe(0);
      const layer = readFileSync(path.join(layout, "blobs", "sha256", image.layerDigest.slice("sha256:".length)));
      expect(sha256(layer)).toBe(image.layerDigest);
    } finally {
      work.remove();
    }
  });
});

/** An image whose layer really is gzip, so that skopeo copies it as it is. */
async function pushGzipImage(
  f: ProxyFixture,
  repository: string,
  tag: string,
): Promise<{ digest: string; bytes: Buffer; layerDigest: string }> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const layer = gzipSync(randomBytes(4096));
  await f.upstreamClient.pushBlob(repository, config);
  const layerDigest = await f.upstreamClient.pushBlob(repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
    layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
  };
  const pushed = await f.upstreamClient.pushManifest(repository, tag, manifest, OCI_MANIFEST);
  expect(pushed.response.status).toBe(201);
  return { digest: pushed.digest, bytes: pushed.bytes, layerDigest };
}
