// This registry as a replication endpoint: its artifacts listed as Harbor's adapter lists them
// (index children and accessories travel with their artifact), writes going through the same
// checks as a push (digest, length, quota, manifest validation), projects made as needed but never
// a proxy cache written to, and every change published.

import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushCosignSignature, pushIndex, pushRichImage, pushSbom, type PushedIndex } from "../api/artifact-fixture.ts";
import { descriptorOf, OCI_MANIFEST, sha256 } from "../distribution/oci-client.ts";
import { openSite, pushTo, siteDir, type OpenSite } from "./replication-sites.ts";

describe("this registry as a replication endpoint", () => {
  const dir = siteDir("local");
  let site: OpenSite;
  let index: PushedIndex;
  let loose: string;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    ({ index, loose } = await pushTo(dir.dir, async (client) => {
      const pushed = await pushIndex(client, "prod/app", "v1");
      await pushCosignSignature(client, "prod/app", pushed.digest);
      await pushSbom(client, "prod/app", pushed);
      const untagged = await pushRichImage(client, "prod/app", undefined, { seed: "loose" });
      return { index: pushed, loose: untagged.digest };
    }));
    site = await openSite(dir.dir);
  });

  afterAll(async () => {
    await site.close();
    dir.remove();
  });

  it("lists artifacts, not the children of an index nor accessories", async () => {
    const artifacts = await site.endpoint.listArtifacts("prod/app", signal);
    expect(artifacts).toHaveLength(2);
    expect(artifacts).toEqual(
      expect.arrayContaining([
        { digest: index.digest, tags: ["v1"], type: "IMAGE" },
        { digest: loose, tags: [], type: "IMAGE" },
      ]),
    );
    expect(await site.endpoint.listArtifacts("prod/nothing", signal)).toBeUndefined();
    expect(await site.endpoint.listTags("prod/nothing", signal)).toBeUndefined();
    expect(await site.endpoint.getManifest("prod/app", "v9", signal)).toBeUndefined();
    expect(await site.endpoint.listRepositories("prod/*", 10, signal)).toEqual(["prod/app"]);
  });

  it("stores nothing whose bytes do not match the digest or the length", async () => {
    const data = Buffer.from("some layer bytes");
    const wrong = sha256("other bytes");
    await expect(
      site.endpoint.putBlob("prod/check", wrong, data.length, Readable.from([data]), {}, signal),
    ).rejects.toThrow();
    expect(await site.endpoint.hasBlob("prod/check", wrong, signal)).toBe(false);
    // In chunks, a stream shorter than declared is refused and its session dropped.
    const digest = sha256(data);
    await expect(
      site.endpoint.putBlob("prod/check", digest, data.length + 4, Readable.from([data]), { chunkBytes: 5 }, signal),
    ).rejects.toThrow();
    expect(await site.endpoint.hasBlob("prod/check", digest, signal)).toBe(false);
    await site.endpoint.putBlob("prod/check", digest, data.length, Readable.from([data]), { chunkBytes: 5 }, signal);
    expect(await site.endpoint.hasBlob("prod/check", digest, signal)).toBe(true);
  });

  it("validates manifests as a push does", async () => {
    const config = descriptorOf("application/vnd.oci.image.config.v1+json", "{}");
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }));
    await expect(
      site.endpoint.putManifest(
        "prod/check",
        "v1",
        { digest: sha256(manifest), mediaType: OCI_MANIFEST, content: manifest },
        signal,
      ),
    ).rejects.toMatchObject({ kind: "protocol", message: /manifest references a blob unknown to the repository/ });
  });

  it("creates a missing project, keeps to its quota, and never writes into a proxy cache", async () => {
    const data = Buffer.from("x".repeat(100));
    await site.endpoint.putBlob("fresh/app", sha256(data), data.length, Readable.from([data]), {}, signal);
    const fresh = await site.store.projects.getByName("fresh");
    expect(fresh).toMatchObject({ metadata: { public: "false" }, storageLimit: -1 });

    await site.store.projects.update(fresh?.id ?? 0, { storageLimit: 150 }, new Date());
    const more = Buffer.from("y".repeat(100));
    await expect(
      site.endpoint.putBlob("fresh/app", sha256(more), more.length, Readable.from([more]), {}, signal),
    ).rejects.toMatchObject({ kind: "unauthorized", message: /exceed/ });
    expect(site.published.at(-1)).toMatchObject({ type: "QUOTA_EXCEED", projectName: "fresh" });

    const upstream = await site.store.registries.create(
      {
        name: "hub",
        type: "docker-hub",
        url: "https://hub.example",
        description: "",
        insecure: false,
        status: "healthy",
      },
      new Date(),
    );
    const owner = await site.store.users.getByName("admin");
    await site.store.projects.create(
      {
        name: "cache",
        ownerId: owner?.id ?? 0,
        metadata: { public: "false" },
        storageLimit: -1,
        registryId: upstream.id,
      },
      new Date(),
    );
    await expect(
      site.endpoint.putBlob("cache/app", sha256(data), data.length, Readable.from([data]), {}, signal),
    ).rejects.toMatchObject({ kind: "protocol", message: /proxy cache/ });
  });

  it("publishes its deletions, and says when there was nothing to delete", async () => {
    const endpoint = site.endpoint.withOperator("replication:test");
    const before = site.published.length;
    expect(await endpoint.deleteTag("prod/app", "v1", signal)).toBe(true);
    expect(await endpoint.deleteTag("prod/app", "v1", signal)).toBe(false);
    expect(await endpoint.deleteManifest("prod/app", loose, signal)).toBe(true);
    expect(await endpoint.deleteManifest("prod/app", loose, signal)).toBe(false);
    expect(site.published.slice(before)).toMatchObject([
      { type: "DELETE_TAG", operator: "replication:test", repository: "prod/app", tag: "v1", digest: index.digest },
      {
        type: "DELETE_ARTIFACT",
        operator: "replication:test",
        artifact: { repository: "prod/app", digest: loose, tags: [] },
      },
    ]);
  });
});
