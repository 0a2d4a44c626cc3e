// The behaviour every metadata store backend must have in its lifecycle areas (garbage collection,
// pull times and pins, retention policies, immutable tag rules) and in the claims blobs carry for
// garbage collection, as one vitest suite each backend's test file calls with a way to open a
// fresh, empty store. Semantics come from src/metadata/lifecycle-store.ts and the BlobMetadata
// doc comments in src/metadata/metadata-store.ts.

import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { LifecycleArtifact, ManifestKey } from "../../src/metadata/lifecycle-store.ts";
import type {
  BlobRecord,
  ManifestRecord,
  ManifestReferences,
  MetadataStore,
} from "../../src/metadata/metadata-store.ts";
import { digestOf, openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, long before the tests run (claims by `link` are made "now"). */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const SECOND = 1_000;
const HOUR = 3_600_000;
function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}
/** A cutoff after every claim a test makes, even those made at the real time. */
function future(): Date {
  return new Date(Date.now() + HOUR);
}

function blob(name: string, overrides: Partial<BlobRecord> = {}): BlobRecord {
  return {
    digest: digestOf(name),
    size: 30,
    parts: [
      { path: `blobs/${name}/0`, size: 10 },
      { path: `blobs/${name}/1`, size: 20 },
    ],
    createdAt: at(0),
    ...overrides,
  };
}

interface TestManifest {
  record: ManifestRecord;
  content: Buffer;
  references: ManifestReferences;
}

function manifest(
  repository: string,
  name: string,
  options: { record?: Partial<ManifestRecord>; references?: Partial<ManifestReferences> } = {},
): TestManifest {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, name }));
  return {
    record: {
      repository,
      digest: digestOf(content.toString()),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: content.length,
      createdAt: at(0),
      ...options.record,
    },
    content,
    references: { blobs: [], manifests: [], ...options.references },
  };
}

function key(m: TestManifest): ManifestKey {
  return { repository: m.record.repository, digest: m.record.digest };
}

async function put(store: MetadataStore, ...manifests: TestManifest[]): Promise<void> {
  for (const m of manifests) await store.manifests.put(m.record, m.content, m.references);
}

async function candidates(store: MetadataStore, cutoff: Date): Promise<string[]> {
  return (await store.gc.candidateBlobs(cutoff, { limit: 100 })).map((each) => each.digest);
}

export function lifecycleStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`lifecycle store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function project(projectName: string): Promise<number> {
      const made = await store.projects.create(
        { name: projectName, ownerId: 1, metadata: {}, storageLimit: -1 },
        at(0),
      );
      return made.id;
    }

    describe("claims", () => {
      it("touches only recorded blobs, and says which they are", async () => {
        const a = blob("a");
        const b = blob("b");
        for (const record of [a, b]) await store.blobs.create(record);
        const recorded = await store.blobs.touch([a.digest, b.digest, digestOf("none")], at(10 * SECOND));
        expect([...recorded].sort()).toEqual([a.digest, b.digest].sort());
        expect(await store.blobs.touch([], at(10 * SECOND))).toEqual(new Set());
        expect(await candidates(store, at(5 * SECOND))).toEqual([]);
        expect((await candidates(store, at(20 * SECOND))).sort()).toEqual([a.digest, b.digest].sort());
        expect(await store.blobs.get(digestOf("none"))).toBeUndefined();
      });

      it("never moves a claim back, and writes none within a second of the last", async () => {
        const a = blob("a");
        await store.blobs.create(a);
        await store.blobs.touch([a.digest], at(10 * SECOND));
        await store.blobs.touch([a.digest], at(5 * SECOND));
        expect(await candidates(store, at(7 * SECOND))).toEqual([]);
        // Within the resolution: the claim stays at 10 s.
        await store.blobs.touch([a.digest], at(10 * SECOND + 500));
        expect(await candidates(store, at(10 * SECOND + 200))).toEqual([a.digest]);
        await store.blobs.touch([a.digest], at(12 * SECOND));
        expect(await candidates(store, at(10 * SECOND + 200))).toEqual([]);
        expect(await candidates(store, at(13 * SECOND))).toEqual([a.digest]);
      });

      it("claims a blob created again, keeping its first record", async () => {
        const a = blob("a");
        await store.blobs.create(a);
        const again = await store.blobs.create({ ...a, parts: [], createdAt: at(HOUR) });
        expect(again).toEqual({ record: a, created: false });
        expect(await candidates(store, at(HOUR / 2))).toEqual([]);
        expect(await candidates(store, at(2 * HOUR))).toEqual([a.digest]);
      });

      it("claims a blob it links, and links no blob that is not recorded", async () => {
        expect(await store.blobs.link("p/r", digestOf("none"))).toBe(false);
        expect(await store.repositories.exists("p/r")).toBe(false);
        expect(await store.blobs.isLinked("p/r", digestOf("none"))).toBe(false);
        const a = blob("a");
        await store.blobs.create(a);
        expect(await candidates(store, at(HOUR))).toEqual([a.digest]);
        expect(await store.blobs.link("p/r", a.digest)).toBe(true);
        expect(await store.blobs.link("p/r", a.digest)).toBe(true);
        expect(await store.blobs.isLinked("p/r", a.digest)).toBe(true);
        // Linked now, long after T0 + 1 h.
        expect(await candidates(store, at(HOUR))).toEqual([]);
      });
    });

    describe("garbage collection", () => {
      it("lists as candidates the unreferenced blobs not claimed since the cutoff, by digest, in pages", async () => {
        const old = ["a", "b", "c", "d"].map((n) => blob(n));
        const referenced = blob("referenced");
        const recent = blob("recent", { createdAt: at(2 * HOUR) });
        for (const record of [...old, referenced, recent]) await store.blobs.create(record);
        await put(store, manifest("p/r", "m", { references: { blobs: [referenced.digest] } }));
        const expected = old.map((each) => each.digest).sort();
        expect(await candidates(store, at(HOUR))).toEqual(expected);
        const first = await store.gc.candidateBlobs(at(HOUR), { limit: 3 });
        expect(first.map((each) => each.digest)).toEqual(expected.slice(0, 3));
        const rest = await store.gc.candidateBlobs(at(HOUR), { after: expected[2], limit: 3 });
        expect(rest.map((each) => each.digest)).toEqual(expected.slice(3));
        const a = old[0] ?? blob("a");
        const all = await store.gc.candidateBlobs(at(HOUR), { limit: 10 });
        expect(all.find((each) => each.digest === a.digest)).toEqual({
          digest: a.digest,
          size: a.size,
          parts: a.parts,
        });
      });

      it("deletes an unreferenced blob with its links, and dooms its parts", async () => {
        const a = blob("a", { size: 42 });
        await store.blobs.create(a);
        await store.blobs.link("p/r", a.digest);
        expect(await store.projects.storageUsed("p")).toBe(42);
        const deleted = await store.gc.deleteUnreferencedBlob(a.digest, future(), at(HOUR));
        expect(deleted).toEqual({ digest: a.digest, size: 42, parts: a.parts });
        expect(await store.blobs.get(a.digest)).toBeUndefined();
        expect(await store.blobs.isLinked("p/r", a.digest)).toBe(false);
        expect(await store.projects.storageUsed("p")).toBe(0);
        expect((await store.gc.doomedParts(at(2 * HOUR), 10)).sort()).toEqual(a.parts.map((p) => p.path).sort());
        // Gone: a second deletion finds nothing.
        expect(await store.gc.deleteUnreferencedBlob(a.digest, future(), at(HOUR))).toBeUndefined();
      });

      it("keeps a blob a manifest of any repository references", async () => {
        const a = blob("a");
        await store.blobs.create(a);
        await store.blobs.link("p/r", a.digest);
        await put(store, manifest("q/other", "m", { references: { blobs: [a.digest] } }));
        expect(await store.gc.deleteUnreferencedBlob(a.digest, future(), at(HOUR))).toBeUndefined();
        expect(await store.blobs.get(a.digest)).toEqual(a);
        expect(await store.blobs.isLinked("p/r", a.digest)).toBe(true);
        expect(await store.gc.doomedParts(future(), 10)).toEqual([]);
      });

      it("keeps a blob claimed after the cutoff", async () => {
        const a = blob("a");
        await store.blobs.create(a);
        await store.blobs.touch([a.digest], at(2 * HOUR));
        expect(await store.gc.deleteUnreferencedBlob(a.digest, at(HOUR), at(3 * HOUR))).toBeUndefined();
        expect(await store.blobs.get(a.digest)).toEqual(a);
        expect(await store.gc.deleteUnreferencedBlob(a.digest, at(3 * HOUR), at(3 * HOUR))).toBeDefined();
      });

      it("deletes inside a transaction, or not at all when it rolls back", async () => {
        const a = blob("a");
        await store.blobs.create(a);
        await expect(
          store.transaction(async (tx) => {
            expect(await tx.gc.deleteUnreferencedBlob(a.digest, at(HOUR), at(HOUR))).toBeDefined();
            expect(await tx.blobs.get(a.digest)).toBeUndefined();
            throw new Error("abandoned");
          }),
        ).rejects.toThrow("abandoned");
        expect(await store.blobs.get(a.digest)).toEqual(a);
        expect(await store.gc.doomedParts(future(), 10)).toEqual([]);
      });

      it("lists doomed parts oldest first, before a time, until they are forgotten", async () => {
        const a = blob("a");
        const b = blob("b");
        for (const record of [a, b]) await store.blobs.create(record);
        await store.gc.deleteUnreferencedBlob(a.digest, at(HOUR), at(HOUR));
        await store.gc.deleteUnreferencedBlob(b.digest, at(HOUR), at(2 * HOUR));
        const pathsOf = (record: BlobRecord) => record.parts.map((p) => p.path).sort();
        expect((await store.gc.doomedParts(at(HOUR + 1), 10)).sort()).toEqual(pathsOf(a));
        expect(await store.gc.doomedParts(at(HOUR), 10)).toEqual([]);
        const oldest = await store.gc.doomedParts(at(3 * HOUR), 2);
        expect(oldest.sort()).toEqual(pathsOf(a));
        await store.gc.forgetDoomed(pathsOf(a));
        await store.gc.forgetDoomed([]);
        expect((await store.gc.doomedParts(at(3 * HOUR), 10)).sort()).toEqual(pathsOf(b));
      });

      it("knows the paths of blobs', uploads' and doomed parts, and nothing else", async () => {
        const kept = blob("kept");
        const gone = blob("gone");
        for (const record of [kept, gone]) await store.blobs.create(record);
        await store.gc.deleteUnreferencedBlob(gone.digest, at(HOUR), at(HOUR));
        await store.uploads.create({
          id: "u1",
          repository: "p/r",
          algorithm: "sha256",
          size: 0,
          parts: [],
          createdAt: at(0),
          updatedAt: at(0),
        });
        await store.uploads.appendPart("u1", 0, { path: "uploads/u1/0", size: 5 }, at(1));
        await store.uploads.appendPart("u1", 5, { path: "uploads/u1/1", size: 5 }, at(2));
        expect([...(await store.gc.knownPartPaths())].sort()).toEqual(
          [...kept.parts, ...gone.parts]
            .map((p) => p.path)
            .concat("uploads/u1/0", "uploads/u1/1")
            .sort(),
        );
      });

      it("lists the untagged manifests delete_untagged removes, by repository and digest, in pages", async () => {
        const tagged = manifest("p/r", "tagged");
        const child = manifest("p/r", "child");
        const index = manifest("p/r", "index", {
          record: { mediaType: "application/vnd.oci.image.index.v1+json" },
          references: { manifests: [child.record.digest] },
        });
        const accessory = manifest("p/r", "accessory", { record: { subject: tagged.record.digest } });
        const orphaned = manifest("p/r", "orphaned", { record: { subject: digestOf("deleted") } });
        const pinned = manifest("p/r", "pinned");
        const recent = manifest("p/r", "recent", { record: { createdAt: at(2 * HOUR) } });
        const plain = [manifest("p/r", "plain-1"), manifest("p/r", "plain-2"), manifest("a/r", "plain-3")];
        await put(store, tagged, child, index, accessory, orphaned, pinned, recent, ...plain);
        await store.tags.put("p/r", "v1", tagged.record.digest, at(0));
        await store.tags.put("p/r", "index", index.record.digest, at(0));
        expect(await store.lifecycle.pin(key(pinned), "preheat", at(0))).toBe(true);

        const expected = [...plain, orphaned]
          .map((m) => ({ ...key(m), size: m.record.size }))
          .sort((x, y) =>
            x.repository === y.repository ? (x.digest < y.digest ? -1 : 1) : x.repository < y.repository ? -1 : 1,
          );
        expect(await store.gc.untaggedManifests(at(HOUR), { limit: 100 })).toEqual(expected);
        const first = await store.gc.untaggedManifests(at(HOUR), { limit: 2 });
        expect(first).toEqual(expected.slice(0, 2));
        const last = first[1];
        const after = last && { repository: last.repository, digest: last.digest };
        expect(await store.gc.untaggedManifests(at(HOUR), { ...(after && { after }), limit: 10 })).toEqual(
          expected.slice(2),
        );
      });

      it("counts the manifests of every repository referencing each blob", async () => {
        const [x, y, z] = [digestOf("x"), digestOf("y"), digestOf("z")];
        await put(
          store,
          manifest("a/one", "m1", { references: { blobs: [x, y] } }),
          manifest("b/two", "m2", { references: { blobs: [x] } }),
          manifest("b/two", "m3", { references: { blobs: [x] } }),
        );
        expect(await store.gc.blobReferenceCounts([x, y, z])).toEqual(
          new Map([
            [x, 3],
            [y, 1],
            [z, 0],
          ]),
        );
        expect(await store.gc.blobReferenceCounts([])).toEqual(new Map());
      });
    });

    describe("pulls, pins and artifacts", () => {
      it("tells a manifest's references, and nothing of one it does not hold", async () => {
        const m = manifest("p/r", "m", { references: { blobs: [digestOf("l"), digestOf("c")] } });
        await put(store, m);
        const references = await store.manifests.references("p/r", m.record.digest);
        expect(references?.blobs.slice().sort()).toEqual([digestOf("l"), digestOf("c")].sort());
        expect(references?.manifests).toEqual([]);
        expect(await store.manifests.references("p/other", m.record.digest)).toBeUndefined();
      });

      it("keeps the latest pull of each manifest, ignoring manifests it does not hold", async () => {
        const m = manifest("p/r", "m");
        const never = manifest("p/r", "never");
        await put(store, m, never);
        await store.lifecycle.recordPulls([
          { ...key(m), at: at(2 * HOUR) },
          { ...key(m), at: at(HOUR) },
          { repository: "p/r", digest: digestOf("none"), at: at(HOUR) },
        ]);
        await store.lifecycle.recordPulls([{ ...key(m), at: at(HOUR / 2) }]);
        const artifacts = await store.lifecycle.artifacts("p/r");
        expect(artifacts.find((a) => a.digest === m.record.digest)?.pulledAt).toEqual(at(2 * HOUR));
        expect(artifacts.find((a) => a.digest === never.record.digest)).not.toHaveProperty("pulledAt");
        await store.lifecycle.recordPulls([{ ...key(m), at: at(3 * HOUR) }]);
        expect((await store.lifecycle.artifacts("p/r")).find((a) => a.digest === m.record.digest)?.pulledAt).toEqual(
          at(3 * HOUR),
        );
      });

      it("describes every manifest of a repository with its tags, times, subject, index and pins", async () => {
        const child = manifest("p/r", "child", { record: { createdAt: at(1) } });
        const index = manifest("p/r", "index", {
          record: { mediaType: "application/vnd.oci.image.index.v1+json", createdAt: at(2), size: 99 },
          references: { manifests: [child.record.digest] },
        });
        const signature = manifest("p/r", "signature", { record: { subject: index.record.digest, createdAt: at(3) } });
        const elsewhere = manifest("q/r", "elsewhere");
        await put(store, child, index, signature, elsewhere);
        await store.tags.put("p/r", "v2", index.record.digest, at(20));
        await store.tags.put("p/r", "latest", index.record.digest, at(10));
        await store.lifecycle.pin(key(child), "preheat", at(5));
        await store.lifecycle.pin(key(child), "api", at(6));
        await store.lifecycle.recordPulls([{ ...key(index), at: at(30) }]);
        const expected: LifecycleArtifact[] = [
          {
            repository: "p/r",
            digest: child.record.digest,
            size: child.record.size,
            pushedAt: at(1),
            tags: [],
            listedByIndex: true,
            pins: ["api", "preheat"],
          },
          {
            repository: "p/r",
            digest: index.record.digest,
            size: 99,
            pushedAt: at(2),
            pulledAt: at(30),
            tags: [
              { name: "latest", pushedAt: at(10) },
              { name: "v2", pushedAt: at(20) },
            ],
            listedByIndex: false,
            pins: [],
          },
          {
            repository: "p/r",
            digest: signature.record.digest,
            size: signature.record.size,
            pushedAt: at(3),
            tags: [],
            subject: index.record.digest,
            listedByIndex: false,
            pins: [],
          },
        ];
        expected.sort((x, y) => (x.digest < y.digest ? -1 : 1));
        expect(await store.lifecycle.artifacts("p/r")).toEqual(expected);
        expect(await store.lifecycle.artifacts("none/r")).toEqual([]);
      });

      it("pins and unpins a manifest it holds, the pins going with the manifest", async () => {
        const m = manifest("p/r", "m");
        expect(await store.lifecycle.pin(key(m), "api", at(0))).toBe(false);
        await put(store, m);
        expect(await store.lifecycle.pin(key(m), "api", at(0))).toBe(true);
        expect(await store.lifecycle.pin(key(m), "api", at(1))).toBe(true);
        const pinsOf = async () => (await store.lifecycle.artifacts("p/r"))[0]?.pins;
        expect(await pinsOf()).toEqual(["api"]);
        expect(await store.lifecycle.unpin(key(m), "api")).toBe(true);
        expect(await store.lifecycle.unpin(key(m), "api")).toBe(false);
        expect(await pinsOf()).toEqual([]);
        await store.lifecycle.pin(key(m), "preheat", at(2));
        await store.manifests.delete("p/r", m.record.digest);
        await put(store, m);
        expect(await pinsOf()).toEqual([]);
      });
    });

    describe("retention policies", () => {
      it("keeps one policy per project, its text byte for byte", async () => {
        const projectId = await project("p");
        const text = '{"rules":[ {"template":"latestPushedK"} ],  "algorithm":"or"}';
        const made = await store.retentions.create(projectId, text, at(0));
        expect(made).toEqual({ id: made.id, projectId, policy: text, createdAt: at(0), updatedAt: at(0) });
        await expect(store.retentions.create(projectId, "{}", at(1))).rejects.toBeInstanceOf(ConflictError);
        expect(await store.retentions.get(made.id)).toEqual(made);
        expect(await store.retentions.forProject(projectId)).toEqual(made);
        expect(await store.retentions.forProject(await project("other"))).toBeUndefined();
        const updated = await store.retentions.update(made.id, "{}", at(5));
        expect(updated).toEqual({ ...made, policy: "{}", updatedAt: at(5) });
        expect(await store.retentions.update(made.id + 1_000, "{}", at(5))).toBeUndefined();
        expect(await store.retentions.delete(made.id)).toBe(true);
        expect(await store.retentions.delete(made.id)).toBe(false);
        expect(await store.retentions.get(made.id)).toBeUndefined();
      });

      it("deletes a project's policy with the project", async () => {
        const projectId = await project("p");
        const made = await store.retentions.create(projectId, "{}", at(0));
        await store.projects.delete(projectId);
        expect(await store.retentions.get(made.id)).toBeUndefined();
      });
    });

    describe("immutable tag rules", () => {
      it("keeps a project's rules, lists them by id, and changes or deletes them in that project only", async () => {
        const p = await project("p");
        const q = await project("q");
        const rule = (n: number) => ({ disabled: false, priority: n, rule: `{"n": ${n}}` });
        const made = [];
        for (const n of [1, 2, 3]) made.push(await store.immutableRules.create(p, rule(n), at(n)));
        const other = await store.immutableRules.create(q, { ...rule(9), disabled: true }, at(9));
        expect(made[0]).toEqual({
          id: made[0]?.id,
          projectId: p,
          disabled: false,
          priority: 1,
          rule: '{"n": 1}',
          createdAt: at(1),
        });
        expect(other.disabled).toBe(true);
        expect(await store.immutableRules.list(p, { offset: 0, limit: 10 })).toEqual({ items: made, total: 3 });
        expect(await store.immutableRules.list(p, { offset: 1, limit: 1 })).toEqual({
          items: made.slice(1, 2),
          total: 3,
        });
        const first = made[0];
        if (!first) throw new Error("no rule made");
        expect(await store.immutableRules.get(first.id)).toEqual(first);
        expect(await store.immutableRules.update(q, first.id, { priority: 5 })).toBeUndefined();
        const changed = await store.immutableRules.update(p, first.id, { disabled: true, rule: "{}" });
        expect(changed).toEqual({ ...first, disabled: true, rule: "{}" });
        expect(await store.immutableRules.update(p, first.id, { priority: 7 })).toEqual({ ...changed, priority: 7 });
        expect(await store.immutableRules.delete(q, first.id)).toBe(false);
        expect(await store.immutableRules.delete(p, first.id)).toBe(true);
        expect(await store.immutableRules.get(first.id)).toBeUndefined();
        expect((await store.immutableRules.list(p, { offset: 0, limit: 10 })).total).toBe(2);
      });

      it("deletes a project's rules with the project", async () => {
        const p = await project("p");
        const made = await store.immutableRules.create(p, { disabled: false, priority: 0, rule: "{}" }, at(0));
        await store.projects.delete(p);
        expect(await store.immutableRules.get(made.id)).toBeUndefined();
        expect(await store.immutableRules.list(p, { offset: 0, limit: 10 })).toEqual({ items: [], total: 0 });
      });
    });
  });
}
