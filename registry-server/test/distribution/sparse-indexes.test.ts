// Sparse indexes and images (`validation.manifests`, after Distribution 3): by default an index
// needs every child and an image every blob in the repository; configured otherwise, an index
// copied with only some platforms is taken and served byte for byte, its absent children 404,
// and the children the configuration does require can be neither missing nor deleted.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManifestValidation } from "../../src/content/manifest-validation.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { descriptorOf, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, OciClient, sha256 } from "./oci-client.ts";

interface Pushed {
  digest: string;
  bytes: Buffer;
}

/** An image manifest that was never pushed anywhere: what a sparse index lacks. */
function absentImage(architecture: string): Pushed {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, absent: architecture }));
  return { digest: sha256(bytes), bytes };
}

function entry(child: Pushed, architecture: string) {
  return {
    mediaType: OCI_MANIFEST,
    digest: child.digest,
    size: child.bytes.length,
    platform: { os: "linux", architecture },
  };
}

function index(...entries: unknown[]) {
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries };
}

async function errorOf(response: Response): Promise<{ code?: string; message?: string; detail?: unknown }> {
  const body = (await response.json()) as { errors: Array<{ code?: string; message?: string; detail?: unknown }> };
  return body.errors[0] ?? {};
}

describe("sparse indexes", () => {
  const registries: TestRegistry[] = [];

  async function start(validation?: ManifestValidation): Promise<OciClient> {
    const registry = await startTestRegistry(validation ? { validation } : {});
    registries.push(registry);
    return new OciClient(registry.url);
  }

  afterAll(async () => {
    for (const registry of registries) await registry.stop();
  });

  describe("by default (strict)", () => {
    let client: OciClient;
    beforeAll(async () => {
      client = await start();
    });

    it("refuses an index lacking children, naming every missing one", async () => {
      const amd = await client.pushImage("strict/multi", "amd64");
      const arm = absentImage("arm64");
      const s390x = absentImage("s390x");
      const { response } = await client.pushManifest(
        "strict/multi",
        "1.0",
        index(entry(amd, "amd64"), entry(arm, "arm64"), entry(s390x, "s390x")),
        OCI_INDEX,
      );
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({
        code: "MANIFEST_BLOB_UNKNOWN",
        detail: { digest: arm.digest, missing: [arm.digest, s390x.digest] },
      });
    });

    it("refuses an image lacking a layer", async () => {
      const config = await client.pushBlob("strict/image", "{}");
      const { response } = await client.pushManifest(
        "strict/image",
        "v1",
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
          layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar", "never pushed")],
        },
        OCI_MANIFEST,
      );
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: "MANIFEST_BLOB_UNKNOWN" });
    });
  });

  describe("platforms: none", () => {
    let client: OciClient;
    beforeAll(async () => {
      client = await start({ indexChildren: "none", blobs: "all" });
    });

    it("takes an index with some children absent, serves it byte for byte, 404 for the absent ones", async () => {
      const amd = await client.pushImage("none/multi", "amd64");
      const arm = absentImage("arm64");
      const pushed = await client.pushManifest(
        "none/multi",
        "1.0",
        index(entry(amd, "amd64"), entry(arm, "arm64")),
        OCI_INDEX,
      );
      expect(pushed.response.status).toBe(201);

      for (const reference of ["1.0", pushed.digest]) {
        const get = await client.request("GET", `/v2/none/multi/manifests/${reference}`, {
          headers: { Accept: OCI_INDEX },
        });
        expect(get.status).toBe(200);
        expect(get.headers.get("docker-content-digest")).toBe(pushed.digest);
        expect(Buffer.from(await get.arrayBuffer()).equals(pushed.bytes)).toBe(true);
      }
      expect((await client.request("GET", `/v2/none/multi/manifests/${amd.digest}`)).status).toBe(200);
      const absent = await client.request("GET", `/v2/none/multi/manifests/${arm.digest}`);
      expect(absent.status).toBe(404);
      expect(await client.errorCode(absent)).toBe("MANIFEST_UNKNOWN");
      expect((await client.request("HEAD", `/v2/none/multi/manifests/${arm.digest}`)).status).toBe(404);
      // Even with no child at all: the index is still what the pin names.
      const empty = await client.pushManifest("none/empty", "1.0", index(entry(arm, "arm64")), OCI_INDEX);
      expect(empty.response.status).toBe(201);
    });

    it("answers an old client with a clear 404 when the index lacks its linux/amd64 image", async () => {
      const arm = await client.pushImage("none/old", "arm64");
      const amd = absentImage("amd64");
      const pushed = await client.pushManifest(
        "none/old",
        "1.0",
        index(entry(amd, "amd64"), entry(arm, "arm64")),
        OCI_INDEX,
      );
      expect(pushed.response.status).toBe(201);
      const old = await client.request("GET", "/v2/none/old/manifests/1.0", { headers: { Accept: DOCKER_MANIFEST } });
      expect(old.status).toBe(404);
      const error = await errorOf(old);
      expect(error.code).toBe("MANIFEST_UNKNOWN");
      expect(error.message).toContain(amd.digest);
    });

    it("lets a child go while the index stays: no child is required", async () => {
      const amd = await client.pushImage("none/delete", "amd64");
      const arm = await client.pushImage("none/delete", "arm64", { layer: "arm64 of none/delete" });
      const pushed = await client.pushManifest(
        "none/delete",
        "1.0",
        index(entry(amd, "amd64"), entry(arm, "arm64")),
        OCI_INDEX,
      );
      expect(pushed.response.status).toBe(201);
      expect((await client.request("DELETE", `/v2/none/delete/manifests/${arm.digest}`)).status).toBe(202);
      const get = await client.request("GET", `/v2/none/delete/manifests/${pushed.digest}`, {
        headers: { Accept: OCI_INDEX },
      });
      expect(Buffer.from(await get.arrayBuffer()).equals(pushed.bytes)).toBe(true);
      expect((await client.request("GET", `/v2/none/delete/manifests/${arm.digest}`)).status).toBe(404);
    });

    it("still checks the sizes of the children that are there, and still wants an image's blobs", async () => {
      const amd = await client.pushImage("none/sizes", "amd64");
      const wrong = await client.pushManifest(
        "none/sizes",
        "1.0",
        index({ ...entry(amd, "amd64"), size: amd.bytes.length + 10 }),
        OCI_INDEX,
      );
      expect(wrong.response.status).toBe(400);
      expect(await client.errorCode(wrong.response)).toBe("MANIFEST_INVALID");
      const config = await client.pushBlob("none/sizes", "{}");
      const image = await client.pushManifest(
        "none/sizes",
        "image",
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
          layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar", "never pushed")],
        },
        OCI_MANIFEST,
      );
      expect(await client.errorCode(image.response)).toBe("MANIFEST_BLOB_UNKNOWN");
    });
  });

  describe("platforms: list (linux/amd64)", () => {
    let client: OciClient;
    beforeAll(async () => {
      client = await start({ indexChildren: [{ os: "linux", architecture: "amd64" }], blobs: "all" });
    });

    it("requires the listed platforms only, when pushed and when deleted", async () => {
      const amd = await client.pushImage("list/multi", "amd64");
      const arm = await client.pushImage("list/multi", "arm64", { layer: "arm64 of list/multi" });
      const riscv = absentImage("riscv64");
      const taken = await client.pushManifest(
        "list/multi",
        "1.0",
        index(entry(amd, "amd64"), entry(arm, "arm64"), entry(riscv, "riscv64")),
        OCI_INDEX,
      );
      expect(taken.response.status).toBe(201);

      const lacking = await client.pushManifest(
        "list/multi",
        "2.0",
        index(entry(absentImage("amd64"), "amd64"), entry(arm, "arm64")),
        OCI_INDEX,
      );
      expect(lacking.response.status).toBe(400);
      expect(await client.errorCode(lacking.response)).toBe("MANIFEST_BLOB_UNKNOWN");

      const required = await client.request("DELETE", `/v2/list/multi/manifests/${amd.digest}`);
      expect(required.status).toBe(412);
      expect(await errorOf(required)).toMatchObject({ detail: { referencedBy: [taken.digest] } });
      expect((await client.request("DELETE", `/v2/list/multi/manifests/${arm.digest}`)).status).toBe(202);
      expect((await client.request("GET", "/v2/list/multi/manifests/1.0")).status).toBe(200);
    });
  });

  describe("blobs: none", () => {
    let client: OciClient;
    beforeAll(async () => {
      client = await start({ indexChildren: "none", blobs: "none" });
    });

    it("takes an image whose layer is absent; the layer 404s, the sizes of present blobs still count", async () => {
      const config = await client.pushBlob("blobs/image", "{}");
      const layer = descriptorOf("application/vnd.oci.image.layer.v1.tar", "never pushed");
      const manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
        layers: [layer],
      };
      const pushed = await client.pushManifest("blobs/image", "v1", manifest, OCI_MANIFEST);
      expect(pushed.response.status).toBe(201);
      const get = await client.request("GET", "/v2/blobs/image/manifests/v1");
      expect(Buffer.from(await get.arrayBuffer()).equals(pushed.bytes)).toBe(true);
      expect((await client.request("GET", `/v2/blobs/image/blobs/${layer.digest}`)).status).toBe(404);

      const wrong = await client.pushManifest(
        "blobs/image",
        "v2",
        { ...manifest, config: { ...manifest.config, size: 3 } },
        OCI_MANIFEST,
      );
      expect(await client.errorCode(wrong.response)).toBe("MANIFEST_INVALID");
    });
  });
});
