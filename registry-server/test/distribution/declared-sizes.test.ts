// A descriptor's size is part of what it names: a manifest that declares another size than the
// stored content's (999,999 bytes for a 2,048-byte layer) is refused with MANIFEST_INVALID and
// stored nowhere, for configs, layers and an index's children alike. Clients trust these sizes
// (they size buffers and progress by them, and some stop reading there).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { descriptorOf, OCI_INDEX, OCI_MANIFEST, OciClient, sha256 } from "./oci-client.ts";

const CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

describe("declared sizes", () => {
  let registry: TestRegistry;
  let client: OciClient;
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const layer = Buffer.alloc(2048, 1);

  beforeAll(async () => {
    registry = await startTestRegistry();
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());

  async function pushParts(repository: string): Promise<void> {
    await client.pushBlob(repository, config);
    await client.pushBlob(repository, layer);
  }

  function image(overrides: { config?: number; layer?: number } = {}) {
    return {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        ...descriptorOf(CONFIG_TYPE, config),
        ...(overrides.config !== undefined && { size: overrides.config }),
      },
      layers: [{ ...descriptorOf(LAYER_TYPE, layer), ...(overrides.layer !== undefined && { size: overrides.layer }) }],
    };
  }

  async function refused(response: Response): Promise<{ code?: string; message?: string; detail?: unknown }> {
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ code?: string; message?: string; detail?: unknown }> };
    return body.errors[0] ?? {};
  }

  it("refuses a layer declared as 999,999 bytes when the blob has 2,048, and stores nothing", async () => {
    await pushParts("sizes/layer");
    const { response, digest } = await client.pushManifest(
      "sizes/layer",
      "v1",
      image({ layer: 999_999 }),
      OCI_MANIFEST,
    );
    const error = await refused(response);
    expect(error).toMatchObject({
      code: "MANIFEST_INVALID",
      detail: { digest: sha256(layer), declared: 999_999, stored: 2048 },
    });
    expect(error.message).toContain("layers[0] declares 999999 bytes");
    expect((await client.request("GET", "/v2/sizes/layer/manifests/v1")).status).toBe(404);
    expect((await client.request("GET", `/v2/sizes/layer/manifests/${digest}`)).status).toBe(404);
  });

  it("refuses a config of the wrong size, and a layer declared shorter than it is", async () => {
    await pushParts("sizes/config");
    const tooLong = await client.pushManifest("sizes/config", "v1", image({ config: config.length + 1 }), OCI_MANIFEST);
    expect(await refused(tooLong.response)).toMatchObject({
      code: "MANIFEST_INVALID",
      detail: { stored: config.length },
    });
    const tooShort = await client.pushManifest("sizes/config", "v2", image({ layer: 2047 }), OCI_MANIFEST);
    expect(await refused(tooShort.response)).toMatchObject({ code: "MANIFEST_INVALID", detail: { declared: 2047 } });
    const tags = await client.request("GET", "/v2/sizes/config/tags/list");
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual([]);
  });

  it("takes the manifest once its sizes are right", async () => {
    await pushParts("sizes/right");
    const { response } = await client.pushManifest("sizes/right", "v1", image(), OCI_MANIFEST);
    expect(response.status).toBe(201);
  });

  it("refuses an index whose child is declared with another size than the stored manifest's", async () => {
    await pushParts("sizes/index");
    const child = await client.pushManifest("sizes/index", "child", image(), OCI_MANIFEST);
    expect(child.response.status).toBe(201);
    const entry = {
      mediaType: OCI_MANIFEST,
      digest: child.digest,
      size: child.bytes.length,
      platform: { os: "linux", architecture: "amd64" },
    };
    const wrong = await client.pushManifest(
      "sizes/index",
      "multi",
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...entry, size: 999_999 }] },
      OCI_INDEX,
    );
    const error = await refused(wrong.response);
    expect(error).toMatchObject({
      code: "MANIFEST_INVALID",
      detail: { digest: child.digest, declared: 999_999, stored: child.bytes.length },
    });
    expect(error.message).toContain("manifests[0]");
    expect((await client.request("GET", "/v2/sizes/index/manifests/multi")).status).toBe(404);

    const right = await client.pushManifest(
      "sizes/index",
      "multi",
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry] },
      OCI_INDEX,
    );
    expect(right.response.status).toBe(201);
  });

  it("checks embedded data against its own size, and a blob already there against the stored one", async () => {
    await client.pushBlob("sizes/data", config);
    const data = Buffer.from("embedded layer");
    const embedded = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(CONFIG_TYPE, config),
      layers: [{ ...descriptorOf(LAYER_TYPE, data), data: data.toString("base64"), size: data.length + 3 }],
    };
    const { response } = await client.pushManifest("sizes/data", "v1", embedded, OCI_MANIFEST);
    expect(await refused(response)).toMatchObject({ code: "MANIFEST_INVALID" });
  });
});
