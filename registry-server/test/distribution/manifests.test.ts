// Manifests, tags, referrers and the catalog as the OCI distribution specification describes them
// (end-3, 7, 8, 9, 12), with content negotiation and the checks that keep bad manifests out.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import {
  descriptorOf,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  EMPTY_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
  OciClient,
  sha256,
  sha512,
} from "./oci-client.ts";

describe("manifests", () => {
  let registry: TestRegistry;
  let client: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());

  it("stores a manifest byte for byte and serves it by tag and by digest, with GET and HEAD", async () => {
    const { digest, bytes } = await client.pushImage("app/web", "v1");
    for (const reference of ["v1", digest]) {
      const get = await client.request("GET", `/v2/app/web/manifests/${reference}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      expect(get.status).toBe(200);
      expect(get.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(get.headers.get("docker-content-digest")).toBe(digest);
      expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);
      const head = await client.request("HEAD", `/v2/app/web/manifests/${reference}`);
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe(String(bytes.length));
    }
  });

  it("answers the push with 201, the Location and the digest", async () => {
    const config = await client.pushBlob("app/push", "{}");
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
      layers: [],
    };
    const { response, digest } = await client.pushManifest("app/push", "latest", manifest, OCI_MANIFEST);
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe(`/v2/app/push/manifests/${digest}`);
    expect(response.headers.get("docker-content-digest")).toBe(digest);
  });

  it("refuses a manifest whose blobs the repository lacks, and stores nothing", async () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(EMPTY_CONFIG, "{}"),
      layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar", "missing layer")],
    };
    const { response } = await client.pushManifest("app/missing", "v1", manifest, OCI_MANIFEST);
    expect(response.status).toBe(400);
    expect(await client.errorCode(response)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect((await client.request("GET", "/v2/app/missing/manifests/v1")).status).toBe(404);
  });

  it("refuses malformed manifests with MANIFEST_INVALID", async () => {
    await client.pushBlob("app/bad", "{}");
    const config = descriptorOf(EMPTY_CONFIG, "{}");
    const cases: Array<[string, string | Buffer, string]> = [
      ["not JSON", "{not json", OCI_MANIFEST],
      ["an array", "[]", OCI_MANIFEST],
      [
        "schema version 1",
        JSON.stringify({ schemaVersion: 1, mediaType: OCI_MANIFEST, config, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "mismatched media types",
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
        OCI_MANIFEST,
      ],
      [
        "a bad descriptor",
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size: -1 }, layers: [] }),
        OCI_MANIFEST,
      ],
      [
        "an unknown media type",
        JSON.stringify({ schemaVersion: 2, mediaType: "application/x-thing" }),
        "application/x-thing",
      ],
      [
        "Docker schema 1",
        JSON.stringify({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] }),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
      ],
    ];
    for (const [what, body, type] of cases) {
      const response = await client.request("PUT", "/v2/app/bad/manifests/v1", {
        headers: { "Content-Type": type },
        body,
      });
      expect(response.status, what).toBe(400);
      expect(await client.errorCode(response), what).toBe("MANIFEST_INVALID");
    }
  });

  it("refuses a manifest over the size limit with 413", async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const response = await client.request("PUT", "/v2/app/huge/manifests/v1", {
      headers: { "Content-Type": OCI_MANIFEST },
      body: huge,
    });
    expect(response.status).toBe(413);
  });

  it("checks a digest reference against the content, and applies ?tag= with OCI-Tag", async () => {
    await client.pushBlob("app/bydigest", "{}");
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(EMPTY_CONFIG, "{}"),
      layers: [],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const wrong = await client.request("PUT", `/v2/app/bydigest/manifests/${sha256("other")}`, {
      headers: { "Content-Type": OCI_MANIFEST },
      body: bytes,
    });
    expect(wrong.status).toBe(400);
    expect(await client.errorCode(wrong)).toBe("DIGEST_INVALID");

    const tagged = await client.request("PUT", `/v2/app/bydigest/manifests/${sha256(bytes)}?tag=1.0&tag=1&tag=latest`, {
      headers: { "Content-Type": OCI_MANIFEST },
      body: bytes,
    });
    expect(tagged.status).toBe(201);
    expect(tagged.headers.get("oci-tag")).toBe("1.0, 1, latest");
    const tags = (await (await client.request("GET", "/v2/app/bydigest/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["1", "1.0", "latest"]);

    const bySha512 = await client.request("PUT", `/v2/app/bydigest/manifests/${sha512(bytes)}`, {
      headers: { "Content-Type": OCI_MANIFEST },
      body: bytes,
    });
    expect(bySha512.status).toBe(201);
    expect(bySha512.headers.get("docker-content-digest")).toBe(sha512(bytes));
    expect((await client.request("GET", `/v2/app/bydigest/manifests/${sha512(bytes)}`)).status).toBe(200);
  });

  it("stores indexes of pushed manifests, nested indexes too, and refuses one with missing children", async () => {
    const amd = await client.pushImage("multi/arch", "amd64", { layer: "amd64 layer" });
    const arm = await client.pushImage("multi/arch", "arm64", { layer: "arm64 layer" });
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: amd.digest,
          size: amd.bytes.length,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: arm.digest,
          size: arm.bytes.length,
          platform: { os: "linux", architecture: "arm64" },
        },
      ],
    };
    const pushed = await client.pushManifest("multi/arch", "latest", index, OCI_INDEX);
    expect(pushed.response.status).toBe(201);

    const nested = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_INDEX, digest: pushed.digest, size: pushed.bytes.length }],
    };
    expect((await client.pushManifest("multi/arch", "nested", nested, OCI_INDEX)).response.status).toBe(201);

    const missing = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256("nope"), size: 4 }],
    };
    const refused = await client.pushManifest("multi/arch", "broken", missing, OCI_INDEX);
    expect(refused.response.status).toBe(400);
    expect(await client.errorCode(refused.response)).toBe("MANIFEST_BLOB_UNKNOWN");
  });

  it("negotiates content: an old client gets the linux/amd64 image of a list, an unacceptable type is 404", async () => {
    const amd = await client.pushImage("negotiate/app", "amd64", { mediaType: DOCKER_MANIFEST, layer: "amd" });
    const arm = await client.pushImage("negotiate/app", "arm64", { mediaType: DOCKER_MANIFEST, layer: "arm" });
    const list = {
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [
        {
          mediaType: DOCKER_MANIFEST,
          digest: arm.digest,
          size: arm.bytes.length,
          platform: { os: "linux", architecture: "arm64" },
        },
        {
          mediaType: DOCKER_MANIFEST,
          digest: amd.digest,
          size: amd.bytes.length,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    };
    const pushed = await client.pushManifest("negotiate/app", "latest", list, DOCKER_LIST);
    expect(pushed.response.status).toBe(201);

    const both = await client.request("GET", "/v2/negotiate/app/manifests/latest", {
      headers: { Accept: `${DOCKER_LIST}, ${DOCKER_MANIFEST}` },
    });
    expect(both.headers.get("content-type")).toBe(DOCKER_LIST);
    const anything = await client.request("GET", "/v2/negotiate/app/manifests/latest");
    expect(anything.headers.get("docker-content-digest")).toBe(pushed.digest);
    const old = await client.request("GET", "/v2/negotiate/app/manifests/latest", {
      headers: { Accept: DOCKER_MANIFEST },
    });
    expect(old.status).toBe(200);
    expect(old.headers.get("docker-content-digest")).toBe(amd.digest);
    const ociOnly = await client.request("GET", `/v2/negotiate/app/manifests/${amd.digest}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(ociOnly.status).toBe(404);
    expect(await client.errorCode(ociOnly)).toBe("MANIFEST_UNKNOWN");
  });

  it("reports OCI-Subject and lists referrers, filtered by artifactType", async () => {
    const subject = await client.pushImage("refs/app", "v1");
    await client.pushBlob("refs/app", "{}");
    await client.pushBlob("refs/app", "signature bytes");
    const artifact = (type: string, extra: Record<string, unknown> = {}) => ({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: type,
      config: descriptorOf(EMPTY_CONFIG, "{}"),
      layers: [descriptorOf("application/octet-stream", "signature bytes")],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
      ...extra,
    });
    const sig = artifact("application/vnd.example.signature", { annotations: { "org.example.signed-by": "ci" } });
    const sbom = artifact("application/vnd.example.sbom");
    const sigPush = await client.pushManifest("refs/app", sha256(JSON.stringify(sig)), sig, OCI_MANIFEST);
    expect(sigPush.response.status).toBe(201);
    expect(sigPush.response.headers.get("oci-subject")).toBe(subject.digest);
    const sbomPush = await client.pushManifest("refs/app", sha256(JSON.stringify(sbom)), sbom, OCI_MANIFEST);
    // Without artifactType, an image manifest's config media type stands in.
    const plain = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(EMPTY_CONFIG, "{}"),
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
    };
    const plainPush = await client.pushManifest("refs/app", sha256(JSON.stringify(plain)), plain, OCI_MANIFEST);

    const all = await client.request("GET", `/v2/refs/app/referrers/${subject.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe(OCI_INDEX);
    expect(all.headers.get("oci-filters-applied")).toBeNull();
    const index = (await all.json()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Array<Record<string, unknown>>;
    };
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests).toHaveLength(3);
    expect(index.manifests.map((m) => m["digest"]).sort()).toEqual(
      [sigPush.digest, sbomPush.digest, plainPush.digest].sort(),
    );
    expect(index.manifests.find((m) => m["digest"] === sigPush.digest)).toEqual({
      mediaType: OCI_MANIFEST,
      digest: sigPush.digest,
      size: sigPush.bytes.length,
      artifactType: "application/vnd.example.signature",
      annotations: { "org.example.signed-by": "ci" },
    });
    expect(index.manifests.find((m) => m["digest"] === plainPush.digest)?.["artifactType"]).toBe(EMPTY_CONFIG);

    const filtered = await client.request(
      "GET",
      `/v2/refs/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`,
    );
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([
      {
        mediaType: OCI_MANIFEST,
        digest: sbomPush.digest,
        size: sbomPush.bytes.length,
        artifactType: "application/vnd.example.sbom",
      },
    ]);

    const none = await client.request("GET", `/v2/refs/app/referrers/${sha256("no such subject")}`);
    expect(none.status).toBe(200);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    expect((await client.request("GET", "/v2/refs/app/referrers/sha256:bad")).status).toBe(400);
  });

  it("accepts a descriptor whose blob is embedded as data, and serves that blob", async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf("application/vnd.oci.image.config.v1+json", config, { data: config.toString("base64") }),
      layers: [],
    };
    const { response } = await client.pushManifest("embedded/data", "v1", manifest, OCI_MANIFEST);
    expect(response.status).toBe(201);
    expect(await (await client.request("GET", `/v2/embedded/data/blobs/${sha256(config)}`)).text()).toBe(
      config.toString(),
    );

    const lying = {
      ...manifest,
      config: { ...manifest.config, data: Buffer.from("something else").toString("base64") },
    };
    const refused = await client.pushManifest("embedded/data", "v2", lying, OCI_MANIFEST);
    expect(refused.response.status).toBe(400);
    expect(await client.errorCode(refused.response)).toBe("MANIFEST_INVALID");
  });

  it("lists tags in ASCII order with n, last and a Link to the next page", async () => {
    const config = await client.pushBlob("tags/list", "{}");
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: EMPTY_CONFIG, digest: config, size: 2 },
      layers: [],
    };
    const names = ["b", "a", "C", "a1", "_x", "z9", "Z"];
    for (const tag of names)
      expect((await client.pushManifest("tags/list", tag, manifest, OCI_MANIFEST)).response.status).toBe(201);
    const sorted = [...names].sort();

    const all = (await (await client.request("GET", "/v2/tags/list/tags/list")).json()) as {
      name: string;
      tags: string[];
    };
    expect(all).toEqual({ name: "tags/list", tags: sorted });

    const first = await client.request("GET", "/v2/tags/list/tags/list?n=3");
    expect(((await first.json()) as { tags: string[] }).tags).toEqual(sorted.slice(0, 3));
    expect(first.headers.get("link")).toBe(`</v2/tags/list/tags/list?n=3&last=${sorted[2]}>; rel="next"`);
    const next = await client.request("GET", `/v2/tags/list/tags/list?n=3&last=${sorted[2]}`);
    expect(((await next.json()) as { tags: string[] }).tags).toEqual(sorted.slice(3, 6));
    const lastPage = await client.request("GET", `/v2/tags/list/tags/list?n=3&last=${sorted[5]}`);
    expect(((await lastPage.json()) as { tags: string[] }).tags).toEqual(sorted.slice(6));
    expect(lastPage.headers.get("link")).toBeNull();

    const zero = await client.request("GET", "/v2/tags/list/tags/list?n=0");
    expect(((await zero.json()) as { tags: string[] }).tags).toEqual([]);
    expect(zero.headers.get("link")).toBeNull();
    expect(
      ((await (await client.request("GET", "/v2/tags/list/tags/list?last=b")).json()) as { tags: string[] }).tags,
    ).toEqual(sorted.filter((t) => t > "b"));

    const unknown = await client.request("GET", "/v2/no/such/repo/tags/list");
    expect(unknown.status).toBe(404);
    expect(await client.errorCode(unknown)).toBe("NAME_UNKNOWN");
  });

  it("deletes tags and manifests, after which they are unknown", async () => {
    const image = await client.pushImage("delete/app", "keep");
    await client.pushManifest("delete/app", "drop", JSON.parse(image.bytes.toString()), OCI_MANIFEST);
    const dropTag = await client.request("DELETE", "/v2/delete/app/manifests/drop");
    expect(dropTag.status).toBe(202);
    expect((await client.request("GET", "/v2/delete/app/manifests/drop")).status).toBe(404);
    expect((await client.request("GET", "/v2/delete/app/manifests/keep")).status).toBe(200);

    const dropManifest = await client.request("DELETE", `/v2/delete/app/manifests/${image.digest}`);
    expect(dropManifest.status).toBe(202);
    const byDigest = await client.request("GET", `/v2/delete/app/manifests/${image.digest}`);
    expect(byDigest.status).toBe(404);
    expect(await client.errorCode(byDigest)).toBe("MANIFEST_UNKNOWN");
    expect((await client.request("GET", "/v2/delete/app/manifests/keep")).status).toBe(404);
    expect((await client.request("DELETE", `/v2/delete/app/manifests/${image.digest}`)).status).toBe(404);

    const noRepo = await client.request("GET", "/v2/never/pushed/manifests/latest");
    expect(noRepo.status).toBe(404);
    expect(await client.errorCode(noRepo)).toBe("NAME_UNKNOWN");
  });

  it("lists repositories in the catalog with pagination", async () => {
    const catalog = (await (await client.request("GET", "/v2/_catalog")).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual([...catalog.repositories].sort());
    expect(catalog.repositories).toEqual(expect.arrayContaining(["app/web", "multi/arch", "tags/list"]));
    const page = await client.request("GET", "/v2/_catalog?n=2");
    const names = ((await page.json()) as { repositories: string[] }).repositories;
    expect(names).toEqual(catalog.repositories.slice(0, 2));
    expect(page.headers.get("link")).toBe(`</v2/_catalog?n=2&last=${encodeURIComponent(names[1] ?? "")}>; rel="next"`);
  });

  it("keeps one consistent tag when clients push the same tag at once", async () => {
    const images = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client.pushImage("race/tag", `candidate-${i}`, { layer: `layer ${i}` })),
    );
    const results = await Promise.all(
      images.map((image) =>
        client.request("PUT", "/v2/race/tag/manifests/latest", {
          headers: { "Content-Type": OCI_MANIFEST },
          body: image.bytes,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(images.map(() => 201));
    const latest = await client.request("GET", "/v2/race/tag/manifests/latest");
    expect(images.map((i) => i.digest)).toContain(latest.headers.get("docker-content-digest"));
    const body = Buffer.from(await latest.arrayBuffer());
    expect(sha256(body)).toBe(latest.headers.get("docker-content-digest"));
  });

  it("stores one blob when clients push the same blob at once", async () => {
    const data = Buffer.alloc(512 * 1024, 7);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.request("POST", `/v2/race/blob/blobs/uploads/?digest=${sha256(data)}`, { body: data }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    const get = await client.request("GET", `/v2/race/blob/blobs/${sha256(data)}`);
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(sha256(data));
  });
});
