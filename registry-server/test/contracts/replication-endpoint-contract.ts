// The behaviour every replication endpoint must have, whichever registry plays it and however
// (in process, or over HTTP through an adapter): each implementation's test file calls
// replicationEndpointContract with a way to open one endpoint. The suite only uses the
// ReplicationSource and ReplicationDestination interfaces; content is seeded through the
// destination role, and read back through the source role, so nothing here knows the
// implementation. Semantics come from the doc comments in src/replication/replication-endpoint.ts.

import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  EndpointManifest,
  ReplicationDestination,
  ReplicationSource,
} from "../../src/replication/replication-endpoint.ts";
import { matchPattern } from "../../src/retention/pattern.ts";
import { UpstreamError } from "../../src/upstream/upstream-registry.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

export interface EndpointUnderTest {
  readonly endpoint: ReplicationSource & ReplicationDestination;
  /** First component of every repository the suite writes (a Harbor project, say). */
  readonly namespace: string;
  /**
   * Whether the registry deletes a tag alone (Harbor, OCI 1.1 registries). Without it (CNCF
   * Distribution 2.x) `deleteTag` deletes the manifest only when no other tag names it.
   */
  readonly deletesTagAlone: boolean;
  readonly close: () => Promise<void>;
}

const signal = (): AbortSignal => AbortSignal.timeout(30_000);

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
}

function blobOf(data: Buffer | string): Blob {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { digest: sha256(bytes), bytes };
}

function manifestOf(mediaType: string, document: unknown, indent = 0): EndpointManifest {
  // Indented on purpose: endpoints must keep these exact bytes, not a re-serialisation.
  const content = Buffer.from(JSON.stringify(document, null, indent));
  return { digest: sha256(content), mediaType, content };
}

/** An image (config and one layer) and its blobs. */
export function imageOf(
  layer: string,
  options: { mediaType?: string; extra?: Record<string, unknown> } = {},
): { blobs: Blob[]; manifest: EndpointManifest } {
  const config = blobOf(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const data = blobOf(layer);
  const docker = options.mediaType === DOCKER_MANIFEST;
  const descriptor = (mediaType: string, blob: Blob) => ({ mediaType, digest: blob.digest, size: blob.bytes.length });
  const manifest = manifestOf(
    options.mediaType ?? OCI_MANIFEST,
    {
      schemaVersion: 2,
      mediaType: options.mediaType ?? OCI_MANIFEST,
      config: descriptor(docker ? "application/vnd.docker.container.image.v1+json" : OCI_CONFIG, config),
      layers: [descriptor(docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : OCI_LAYER, data)],
      ...options.extra,
    },
    3,
  );
  return { blobs: [config, data], manifest };
}

async function putBlob(destination: ReplicationDestination, repository: string, blob: Blob, chunkBytes?: number) {
  await destination.putBlob(
    repository,
    blob.digest,
    blob.bytes.length,
    Readable.from([blob.bytes]),
    chunkBytes === undefined ? {} : { chunkBytes },
    signal(),
  );
}

/** Pushes an image's blobs and manifest through the destination role. */
export async function seedImage(
  destination: ReplicationDestination,
  repository: string,
  reference: string,
  image: { blobs: Blob[]; manifest: EndpointManifest },
): Promise<void> {
  for (const blob of image.blobs) await putBlob(destination, repository, blob);
  await destination.putManifest(repository, reference, image.manifest, signal());
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function expectRefused(promise: Promise<unknown>): Promise<UpstreamError> {
  const error: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "expected a failure").toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

export function replicationEndpointContract(name: string, setup: () => Promise<EndpointUnderTest>): void {
  describe(`replication endpoint contract: ${name}`, () => {
    let under: EndpointUnderTest;
    let endpoint: ReplicationSource & ReplicationDestination;
    const repo = (suffix: string): string => `${under.namespace}/${suffix}`;

    beforeAll(async () => {
      under = await setup();
      endpoint = under.endpoint;
    });
    afterAll(async () => {
      await under?.close();
    });

    describe("source", () => {
      it("lists the repositories a pattern may match, their tags, and nothing for a missing one", async () => {
        const image = imageOf("listed layer");
        await seedImage(endpoint, repo("list-a"), "v1", image);
        await endpoint.putManifest(repo("list-a"), "v2", image.manifest, signal());
        await seedImage(endpoint, repo("list-b"), "v1", image);
        await seedImage(endpoint, repo("other"), "v1", image);

        const pattern = `${under.namespace}/list-*`;
        const listed = await endpoint.listRepositories(pattern, 1_000, signal());
        expect(listed.filter((name) => matchPattern(pattern, name)).sort()).toEqual([repo("list-a"), repo("list-b")]);
        const named = await endpoint.listRepositories(repo("list-a"), 1_000, signal());
        expect(named).toContain(repo("list-a"));
        const everything = await endpoint.listRepositories("", 1_000, signal());
        expect(everything).toEqual(expect.arrayContaining([repo("list-a"), repo("list-b"), repo("other")]));
        expect((await endpoint.listRepositories("", 1, signal())).length).toBe(1);

        expect((await endpoint.listTags(repo("list-a"), signal()))?.sort()).toEqual(["v1", "v2"]);
        expect(await endpoint.listTags(repo("never-pushed"), signal())).toBeUndefined();
      });

      it("gets manifests by tag and by digest with their exact bytes, indexes included", async () => {
        const docker = imageOf("docker layer", { mediaType: DOCKER_MANIFEST });
        await seedImage(endpoint, repo("get"), "docker", docker);
        const byTag = await endpoint.getManifest(repo("get"), "docker", signal());
        expect(byTag).toEqual(docker.manifest);
        expect(await endpoint.getManifest(repo("get"), docker.manifest.digest, signal())).toEqual(docker.manifest);

        const arm = imageOf("arm layer");
        await seedImage(endpoint, repo("get"), arm.manifest.digest, arm);
        const index = manifestOf(OCI_INDEX, {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            { mediaType: DOCKER_MANIFEST, digest: docker.manifest.digest, size: docker.manifest.content.length },
            {
              mediaType: OCI_MANIFEST,
              digest: arm.manifest.digest,
              size: arm.manifest.content.length,
              platform: { architecture: "arm64", os: "linux" },
            },
          ],
        });
        await endpoint.putManifest(repo("get"), "multi", index, signal());
        expect(await endpoint.getManifest(repo("get"), "multi", signal())).toEqual(index);

        expect(await endpoint.getManifest(repo("get"), "missing", signal())).toBeUndefined();
        expect(await endpoint.getManifest(repo("get"), sha256("no such manifest"), signal())).toBeUndefined();
        expect(await endpoint.getManifest(repo("never-pushed"), "v1", signal())).toBeUndefined();
      });

      it("gets a blob's bytes and size, and nothing for an unknown digest", async () => {
        const image = imageOf("blob to read back");
        await seedImage(endpoint, repo("blobs"), "v1", image);
        const layer = image.blobs[1];
        if (!layer) throw new Error("no layer");
        const blob = await endpoint.getBlob(repo("blobs"), layer.digest, signal());
        expect(blob?.size).toBe(layer.bytes.length);
        expect(blob && (await readAll(blob.body)).equals(layer.bytes)).toBe(true);
        expect(await endpoint.getBlob(repo("blobs"), sha256("absent"), signal())).toBeUndefined();
      });

      it("lists the referrers of a manifest, and none for a manifest without any", async () => {
        const subject = imageOf("signed layer");
        await seedImage(endpoint, repo("referred"), "v1", subject);
        const empty = blobOf("{}");
        await putBlob(endpoint, repo("referred"), empty);
        const signature = manifestOf(OCI_MANIFEST, {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: "application/vnd.example.signature",
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty.digest, size: 2 },
          layers: [{ mediaType: "application/vnd.oci.empty.v1+json", digest: empty.digest, size: 2 }],
          subject: {
            mediaType: OCI_MANIFEST,
            digest: subject.manifest.digest,
            size: subject.manifest.content.length,
          },
        });
        await endpoint.putManifest(repo("referred"), signature.digest, signature, signal());

        const referrers = await endpoint.listReferrers(repo("referred"), subject.manifest.digest, signal());
        expect(referrers).toEqual([
          {
            digest: signature.digest,
            mediaType: OCI_MANIFEST,
            size: signature.content.length,
            artifactType: "application/vnd.example.signature",
          },
        ]);
        expect(await endpoint.listReferrers(repo("referred"), signature.digest, signal())).toEqual([]);
      });
    });

    describe("destination", () => {
      it("puts a blob in one request, and then has it", async () => {
        const blob = blobOf(randomBytes(300_000));
        expect(await endpoint.hasBlob(repo("mono"), blob.digest, signal())).toBe(false);
        await putBlob(endpoint, repo("mono"), blob);
        expect(await endpoint.hasBlob(repo("mono"), blob.digest, signal())).toBe(true);
        const read = await endpoint.getBlob(repo("mono"), blob.digest, signal());
        expect(read && (await readAll(read.body)).equals(blob.bytes)).toBe(true);
      });

      it("puts a blob in chunks, the last one shorter", async () => {
        const blob = blobOf(randomBytes(3 * 65_536 + 1_234));
        await putBlob(endpoint, repo("chunked"), blob, 65_536);
        expect(await endpoint.hasBlob(repo("chunked"), blob.digest, signal())).toBe(true);
        const read = await endpoint.getBlob(repo("chunked"), blob.digest, signal());
        expect(read && (await readAll(read.body)).equals(blob.bytes)).toBe(true);
        const tiny = blobOf("smaller than a chunk");
        await putBlob(endpoint, repo("chunked"), tiny, 65_536);
        expect(await endpoint.hasBlob(repo("chunked"), tiny.digest, signal())).toBe(true);
      });

      it("puts an empty blob, in one request and in chunks", async () => {
        const empty = blobOf(Buffer.alloc(0));
        await putBlob(endpoint, repo("empty-mono"), empty);
        await putBlob(endpoint, repo("empty-chunked"), empty, 1_024);
        for (const repository of [repo("empty-mono"), repo("empty-chunked")]) {
          expect(await endpoint.hasBlob(repository, empty.digest, signal())).toBe(true);
          const read = await endpoint.getBlob(repository, empty.digest, signal());
          expect(read?.size).toBe(0);
          expect(read && (await readAll(read.body)).length).toBe(0);
        }
      });

      it("refuses bytes that do not match the digest or the size, and shows nothing of them", async () => {
        const claimed = sha256("the bytes that were announced");
        const wrong = Buffer.from("the bytes that were really sent");
        for (const chunkBytes of [undefined, 8]) {
          const error = await expectRefused(
            endpoint.putBlob(
              repo("wrong"),
              claimed,
              wrong.length,
              Readable.from([wrong]),
              chunkBytes === undefined ? {} : { chunkBytes },
              signal(),
            ),
          );
          expect(error.kind, error.message).toBe("protocol");
          expect(await endpoint.hasBlob(repo("wrong"), claimed, signal())).toBe(false);
          expect(await endpoint.hasBlob(repo("wrong"), sha256(wrong), signal())).toBe(false);
        }
        const short = blobOf("a blob shorter than announced");
        await expectRefused(
          endpoint.putBlob(
            repo("wrong"),
            short.digest,
            short.bytes.length + 10,
            Readable.from([short.bytes]),
            {},
            signal(),
          ),
        );
        expect(await endpoint.hasBlob(repo("wrong"), short.digest, signal())).toBe(false);
      });

      it("mounts a blob it holds in another repository, and declines one it does not hold", async () => {
        const blob = blobOf("mounted across repositories");
        await putBlob(endpoint, repo("mount-from"), blob);
        expect(await endpoint.mountBlob(repo("mount-to"), blob.digest, repo("mount-from"), signal())).toBe(true);
        expect(await endpoint.hasBlob(repo("mount-to"), blob.digest, signal())).toBe(true);
        const absent = sha256("held nowhere");
        expect(await endpoint.mountBlob(repo("mount-to"), absent, repo("mount-from"), signal())).toBe(false);
        expect(await endpoint.hasBlob(repo("mount-to"), absent, signal())).toBe(false);
      });

      it("puts a manifest by digest and by tags, heads it, and deletes it with its tags", async () => {
        const image = imageOf("manifest lifecycle layer");
        const digest = image.manifest.digest;
        expect(await endpoint.headManifest(repo("lifecycle"), "v1", signal())).toBeUndefined();
        await seedImage(endpoint, repo("lifecycle"), digest, image);
        expect(await endpoint.headManifest(repo("lifecycle"), digest, signal())).toBe(digest);
        expect(await endpoint.headManifest(repo("lifecycle"), "v1", signal())).toBeUndefined();
        await endpoint.putManifest(repo("lifecycle"), "v1", image.manifest, signal());
        await endpoint.putManifest(repo("lifecycle"), "v2", image.manifest, signal());
        expect(await endpoint.headManifest(repo("lifecycle"), "v1", signal())).toBe(digest);
        expect(await endpoint.headManifest(repo("lifecycle"), digest, signal())).toBe(digest);

        expect(await endpoint.deleteManifest(repo("lifecycle"), digest, signal())).toBe(true);
        expect(await endpoint.headManifest(repo("lifecycle"), digest, signal())).toBeUndefined();
        expect(await endpoint.headManifest(repo("lifecycle"), "v1", signal())).toBeUndefined();
        expect(await endpoint.headManifest(repo("lifecycle"), "v2", signal())).toBeUndefined();
        expect(await endpoint.deleteManifest(repo("lifecycle"), digest, signal())).toBe(false);
      });

      it("refuses a manifest whose blobs it does not hold", async () => {
        const image = imageOf("layer never sent");
        await expectRefused(endpoint.putManifest(repo("incomplete"), "v1", image.manifest, signal()));
        expect(await endpoint.headManifest(repo("incomplete"), "v1", signal())).toBeUndefined();
      });

      it("deletes a tag, keeping a manifest that another tag still names", async () => {
        const image = imageOf("tagged twice");
        const digest = image.manifest.digest;
        await seedImage(endpoint, repo("tags"), "keep", image);
        await endpoint.putManifest(repo("tags"), "drop", image.manifest, signal());

        const deleted = await endpoint.deleteTag(repo("tags"), "drop", signal());
        expect(deleted).toBe(under.deletesTagAlone);
        expect(await endpoint.headManifest(repo("tags"), "drop", signal())).toBe(
          under.deletesTagAlone ? undefined : digest,
        );
        expect(await endpoint.headManifest(repo("tags"), "keep", signal())).toBe(digest);
        expect(await endpoint.headManifest(repo("tags"), digest, signal())).toBe(digest);

        const alone = imageOf("tagged once");
        await seedImage(endpoint, repo("tags"), "alone", alone);
        expect(await endpoint.deleteTag(repo("tags"), "alone", signal())).toBe(true);
        expect(await endpoint.headManifest(repo("tags"), "alone", signal())).toBeUndefined();
        expect(await endpoint.deleteTag(repo("tags"), "never-tagged", signal())).toBe(false);
      });
    });
  });
}
