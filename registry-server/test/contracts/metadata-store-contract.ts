// The behaviour every metadata store backend must have, as one vitest suite: each backend's test
// file calls `metadataStoreContract` with a way to open a fresh, empty store. Semantics come from
// the doc comments in src/metadata/metadata-store.ts.

import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  BlobRecord,
  ManifestRecord,
  ManifestReferences,
  MetadataStore,
  UploadRecord,
} from "../../src/metadata/metadata-store.ts";

export interface ContractStore {
  store: MetadataStore;
  cleanup: () => Promise<void>;
}

export function digestOf(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
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

function upload(id: string, overrides: Partial<UploadRecord> = {}): UploadRecord {
  return {
    id,
    repository: "library/app",
    algorithm: "sha256",
    size: 0,
    parts: [],
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

interface TestManifest {
  record: ManifestRecord;
  content: Buffer;
  references: ManifestReferences;
}

/** A manifest whose bytes (and so digest) are determined by `name`. */
function manifest(repository: string, name: string, overrides: Partial<ManifestRecord> = {}): TestManifest {
  // A NUL and a non-UTF-8 byte: the bytes must come back exactly, not through a text round trip.
  const content = Buffer.concat([Buffer.from(JSON.stringify({ schemaVersion: 2, name })), Buffer.from([0x00, 0xff])]);
  return {
    record: {
      repository,
      digest: digestOf(content.toString("latin1")),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: content.length,
      createdAt: at(0),
      ...overrides,
    },
    content,
    references: { blobs: [digestOf(`${name}-config`), digestOf(`${name}-layer`)], manifests: [] },
  };
}

async function put(store: MetadataStore, m: TestManifest): Promise<void> {
  await store.manifests.put(m.record, m.content, m.references);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens a fresh store before each test (handing it to `use`) and cleans it up after. Shared by the
 * contract suites, so that each backend only says how to open and clean up.
 */
export function openEachTest(setup: () => Promise<ContractStore>, use: (store: MetadataStore) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const opened = await setup();
    cleanup = opened.cleanup;
    use(opened.store);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
}

export function metadataStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`metadata store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    describe("blobs", () => {
      it("totals the bytes of the blobs linked somewhere, each blob once", async () => {
        expect(await store.blobs.totalSize()).toBe(0);
        const shared = blob("shared", { size: 100 });
        const own = blob("own", { size: 7 });
        const orphan = blob("orphan", { size: 1_000 });
        for (const record of [shared, own, orphan]) await store.blobs.create(record);
        await store.blobs.link("p/one", shared.digest);
        await store.blobs.link("q/two", shared.digest);
        await store.blobs.link("q/two", own.digest);
        expect(await store.blobs.totalSize()).toBe(107);
        await store.blobs.unlink("q/two", own.digest);
        expect(await store.blobs.totalSize()).toBe(100);
      });

      it("creates a blob and gets it back", async () => {
        const record = blob("a");
        expect(await store.blobs.get(record.digest)).toBeUndefined();
        expect(await store.blobs.create(record)).toEqual({ record, created: true });
        expect(await store.blobs.get(record.digest)).toEqual(record);
        expect(await store.blobs.get(blob("b").digest)).toBeUndefined();
      });

      it("keeps the existing record when the digest is created again", async () => {
        const first = blob("a");
        await store.blobs.create(first);
        const second = blob("a", { parts: [{ path: "elsewhere/0", size: 30 }], createdAt: at(5_000) });
        expect(await store.blobs.create(second)).toEqual({ record: first, created: false });
        expect(await store.blobs.get(first.digest)).toEqual(first);
      });

      it("links a blob into repositories, creating them, idempotently", async () => {
        const record = blob("a");
        await store.blobs.create(record);
        expect(await store.repositories.exists("library/app")).toBe(false);
        await store.blobs.link("library/app", record.digest);
        await store.blobs.link("library/app", record.digest);
        expect(await store.repositories.exists("library/app")).toBe(true);
        expect(await store.blobs.isLinked("library/app", record.digest)).toBe(true);
        expect(await store.blobs.isLinked("library/other", record.digest)).toBe(false);
        expect(await store.blobs.repositoriesOf(record.digest)).toEqual(["library/app"]);
      });

      it("lists the repositories of a blob in ASCII order", async () => {
        const record = blob("a");
        await store.blobs.create(record);
        for (const repository of ["b/x", "a/x", "a-x", "a.x", "0"]) await store.blobs.link(repository, record.digest);
        // '-' < '.' < '/' in ASCII; a locale-aware order would differ.
        expect(await store.blobs.repositoriesOf(record.digest)).toEqual(["0", "a-x", "a.x", "a/x", "b/x"]);
        expect(await store.blobs.repositoriesOf(blob("unknown").digest)).toEqual([]);
      });

      it("unlinks a blob from one repository only", async () => {
        const record = blob("a");
        await store.blobs.create(record);
        await store.blobs.link("one", record.digest);
        await store.blobs.link("two", record.digest);
        expect(await store.blobs.unlink("one", record.digest)).toBe(true);
        expect(await store.blobs.unlink("one", record.digest)).toBe(false);
        expect(await store.blobs.isLinked("one", record.digest)).toBe(false);
        expect(await store.blobs.isLinked("two", record.digest)).toBe(true);
        expect(await store.blobs.repositoriesOf(record.digest)).toEqual(["two"]);
        expect(await store.blobs.get(record.digest)).toEqual(record);
      });

      it("deletes a blob with every link to it", async () => {
        const record = blob("a");
        const other = blob("b");
        await store.blobs.create(record);
        await store.blobs.create(other);
        await store.blobs.link("one", record.digest);
        await store.blobs.link("two", record.digest);
        await store.blobs.link("one", other.digest);
        expect(await store.blobs.delete(record.digest)).toBe(true);
        expect(await store.blobs.delete(record.digest)).toBe(false);
        expect(await store.blobs.get(record.digest)).toBeUndefined();
        expect(await store.blobs.isLinked("one", record.digest)).toBe(false);
        expect(await store.blobs.repositoriesOf(record.digest)).toEqual([]);
        expect(await store.blobs.get(other.digest)).toEqual(other);
        expect(await store.blobs.isLinked("one", other.digest)).toBe(true);
      });
    });

    describe("uploads", () => {
      it("creates a session, creating its repository, and gets it back", async () => {
        const record = upload("3f1c2a9e-0000-4000-8000-000000000001", { createdAt: at(1), updatedAt: at(2) });
        expect(await store.uploads.get(record.id)).toBeUndefined();
        await store.uploads.create(record);
        expect(await store.uploads.get(record.id)).toEqual(record);
        expect(await store.repositories.exists(record.repository)).toBe(true);
      });

      it("appends parts with a compare-and-set on the size", async () => {
        const record = upload("u1");
        await store.uploads.create(record);
        const first = { path: "uploads/u1/0", size: 10 };
        const second = { path: "uploads/u1/1", size: 5 };

        const afterFirst = await store.uploads.appendPart("u1", 0, first, at(1_000));
        expect(afterFirst).toEqual({ ...record, size: 10, parts: [first], updatedAt: at(1_000) });

        // A stale expected size (another writer appended at offset 0 already) changes nothing.
        expect(await store.uploads.appendPart("u1", 0, second, at(2_000))).toBeUndefined();
        expect(await store.uploads.get("u1")).toEqual(afterFirst);

        const afterSecond = await store.uploads.appendPart("u1", 10, second, at(3_000));
        expect(afterSecond).toEqual({ ...record, size: 15, parts: [first, second], updatedAt: at(3_000) });
        expect(await store.uploads.get("u1")).toEqual(afterSecond);
      });

      it("does not append to a session that does not exist", async () => {
        expect(await store.uploads.appendPart("missing", 0, { path: "p", size: 1 }, at(0))).toBeUndefined();
        expect(await store.uploads.get("missing")).toBeUndefined();
      });

      it("deletes a session, returning it as it was", async () => {
        await store.uploads.create(upload("u1"));
        await store.uploads.create(upload("u2"));
        const part = { path: "blobs/parts/p1", size: 4 };
        const appended = await store.uploads.appendPart("u1", 0, part, at(2_000));
        expect(await store.uploads.delete("u1")).toEqual(appended);
        expect(await store.uploads.delete("u1")).toBeUndefined();
        expect(await store.uploads.get("u1")).toBeUndefined();
        expect(await store.uploads.get("u2")).toBeDefined();
        expect(await store.uploads.appendPart("u1", 0, { path: "p", size: 1 }, at(1))).toBeUndefined();
      });

      it("deletes a session at an expected size only while it has that size", async () => {
        await store.uploads.create(upload("u1"));
        await store.uploads.appendPart("u1", 0, { path: "blobs/parts/p1", size: 4 }, at(2_000));
        expect(await store.uploads.delete("u1", 0)).toBeUndefined();
        expect((await store.uploads.get("u1"))?.size).toBe(4);
        expect((await store.uploads.delete("u1", 4))?.parts).toEqual([{ path: "blobs/parts/p1", size: 4 }]);
        expect(await store.uploads.get("u1")).toBeUndefined();
      });

      it("lists sessions not updated since a time, oldest first", async () => {
        await store.uploads.create(upload("middle", { updatedAt: at(2_000) }));
        await store.uploads.create(upload("newest", { updatedAt: at(3_000) }));
        await store.uploads.create(upload("oldest", { updatedAt: at(1_000) }));
        const ids = async (before: Date) => (await store.uploads.listStale(before)).map((u) => u.id);

        expect(await ids(at(1_000))).toEqual([]);
        expect(await ids(at(2_001))).toEqual(["oldest", "middle"]);
        expect(await ids(at(10_000))).toEqual(["oldest", "middle", "newest"]);
        expect((await store.uploads.listStale(at(1_001)))[0]).toEqual(upload("oldest", { updatedAt: at(1_000) }));

        // Appending is activity: the session is no longer stale.
        await store.uploads.appendPart("oldest", 0, { path: "p", size: 1 }, at(5_000));
        expect(await ids(at(4_000))).toEqual(["middle", "newest"]);
      });
    });

    describe("manifests", () => {
      it("puts a manifest, creating its repository, and gets its record and exact bytes", async () => {
        const m = manifest("library/app", "one", {
          artifactType: "application/vnd.example+type",
          subject: digestOf("subject"),
          annotations: { "org.opencontainers.image.created": "2024-05-06", "com.example.note": "é ✓" },
        });
        await put(store, m);
        expect(await store.repositories.exists("library/app")).toBe(true);
        expect(await store.manifests.get("library/app", m.record.digest)).toEqual(m.record);
        const content = await store.manifests.content("library/app", m.record.digest);
        expect(Buffer.isBuffer(content)).toBe(true);
        expect(content?.equals(m.content)).toBe(true);
      });

      it("leaves the optional fields out when the manifest has none", async () => {
        const m = manifest("library/app", "plain");
        await put(store, m);
        const got = await store.manifests.get("library/app", m.record.digest);
        expect(got).toEqual(m.record);
        expect(got?.artifactType).toBeUndefined();
        expect(got?.subject).toBeUndefined();
        expect(got?.annotations).toBeUndefined();
      });

      it("scopes manifests to their repository", async () => {
        const m = manifest("library/app", "one");
        await put(store, m);
        expect(await store.manifests.get("library/other", m.record.digest)).toBeUndefined();
        expect(await store.manifests.content("library/other", m.record.digest)).toBeUndefined();
        expect(await store.manifests.get("library/app", digestOf("nothing"))).toBeUndefined();
      });

      it("moves an unchanged manifest's push time when put again, at most once a second", async () => {
        const m = manifest("library/app", "push-time");
        await put(store, m);
        await put(store, { ...m, record: { ...m.record, createdAt: new Date(m.record.createdAt.getTime() + 999) } });
        expect((await store.manifests.get("library/app", m.record.digest))?.createdAt).toEqual(m.record.createdAt);
        const later = new Date(m.record.createdAt.getTime() + 1_000);
        await put(store, { ...m, record: { ...m.record, createdAt: later } });
        expect(await store.manifests.get("library/app", m.record.digest)).toEqual({ ...m.record, createdAt: later });
      });

      it("replaces the record when the same digest is put again, keeping its tags", async () => {
        const m = manifest("library/app", "one", { annotations: { a: "1" } });
        await put(store, m);
        await store.tags.put("library/app", "v1", m.record.digest, at(1));
        const again: TestManifest = {
          ...m,
          record: { ...m.record, annotations: { b: "2" }, subject: digestOf("s"), createdAt: at(9_000) },
          references: { blobs: [digestOf("other-layer")], manifests: [digestOf("child")] },
        };
        await put(store, again);
        expect(await store.manifests.get("library/app", m.record.digest)).toEqual(again.record);
        expect((await store.manifests.content("library/app", m.record.digest))?.equals(m.content)).toBe(true);
        expect(await store.manifests.referrers("library/app", digestOf("s"))).toEqual([again.record]);
        expect((await store.tags.get("library/app", "v1"))?.digest).toBe(m.record.digest);
      });

      it("shares bytes by digest across repositories", async () => {
        const inApp = manifest("library/app", "shared");
        const inOther = manifest("library/other", "shared");
        await put(store, inApp);
        await put(store, inOther);
        expect(await store.manifests.delete("library/app", inApp.record.digest)).toBe(true);
        expect(await store.manifests.content("library/app", inApp.record.digest)).toBeUndefined();
        expect((await store.manifests.content("library/other", inOther.record.digest))?.equals(inOther.content)).toBe(
          true,
        );
        // Putting it back into the first repository works after the other still holds the bytes.
        await put(store, inApp);
        expect((await store.manifests.content("library/app", inApp.record.digest))?.equals(inApp.content)).toBe(true);
      });

      it("deletes a manifest with the tags pointing at it, and only those", async () => {
        const m = manifest("library/app", "one");
        const other = manifest("library/app", "two");
        const elsewhere = manifest("library/other", "one");
        await put(store, m);
        await put(store, other);
        await put(store, elsewhere);
        await store.tags.put("library/app", "v1", m.record.digest, at(1));
        await store.tags.put("library/app", "latest", m.record.digest, at(1));
        await store.tags.put("library/app", "v2", other.record.digest, at(1));
        await store.tags.put("library/other", "v1", elsewhere.record.digest, at(1));

        expect(await store.manifests.delete("library/app", m.record.digest)).toBe(true);
        expect(await store.manifests.delete("library/app", m.record.digest)).toBe(false);
        expect(await store.manifests.get("library/app", m.record.digest)).toBeUndefined();
        expect(await store.manifests.content("library/app", m.record.digest)).toBeUndefined();
        expect(await store.tags.get("library/app", "v1")).toBeUndefined();
        expect(await store.tags.list("library/app", {})).toEqual(["v2"]);
        expect(await store.tags.forDigest("library/app", m.record.digest)).toEqual([]);
        expect((await store.tags.get("library/other", "v1"))?.digest).toBe(elsewhere.record.digest);
        expect(await store.manifests.get("library/other", elsewhere.record.digest)).toEqual(elsewhere.record);
      });

      it("unlinks the blobs only the deleted manifest referenced, keeping shared and unreferenced ones", async () => {
        const m = manifest("library/app", "one");
        const sharing: TestManifest = {
          ...manifest("library/app", "two"),
          references: { blobs: [digestOf("one-config"), digestOf("two-layer")], manifests: [] },
        };
        const names = ["one-config", "one-layer", "two-layer", "uploaded-only"];
        for (const name of names) {
          await store.blobs.create(blob(name, { digest: digestOf(name) }));
          await store.blobs.link("library/app", digestOf(name));
        }
        await store.blobs.link("library/other", digestOf("one-layer"));
        await put(store, m);
        await put(store, sharing);

        expect(await store.manifests.delete("library/app", m.record.digest)).toBe(true);
        const linked = async (repository: string, name: string) => store.blobs.isLinked(repository, digestOf(name));
        expect(await linked("library/app", "one-layer")).toBe(false);
        expect(await linked("library/app", "one-config")).toBe(true); // "two" still references it
        expect(await linked("library/app", "two-layer")).toBe(true);
        expect(await linked("library/app", "uploaded-only")).toBe(true); // no manifest references it yet
        expect(await linked("library/other", "one-layer")).toBe(true); // other repositories keep theirs
        expect(await store.blobs.get(digestOf("one-layer"))).toBeDefined(); // bytes stay for GC
      });

      it("lists referrers by subject, filtered by artifact type, ordered by digest", async () => {
        const subject = manifest("library/app", "subject");
        await put(store, subject);
        const s = subject.record.digest;
        const referrers = ["sig-1", "sig-2", "sbom-1", "sbom-2", "sbom-3"].map((name) =>
          manifest("library/app", name, {
            subject: s,
            artifactType: name.startsWith("sig") ? "application/vnd.example.sig" : "application/spdx+json",
            annotations: { name },
          }),
        );
        for (const m of referrers) await put(store, m);
        await put(store, manifest("library/app", "unrelated", { subject: digestOf("x"), artifactType: "a/b" }));
        await put(
          store,
          manifest("library/other", "sig-1", { subject: s, artifactType: "application/vnd.example.sig" }),
        );
        const byDigest = (records: ManifestRecord[]) => [...records].sort((a, b) => (a.digest < b.digest ? -1 : 1));

        expect(await store.manifests.referrers("library/app", s)).toEqual(byDigest(referrers.map((m) => m.record)));
        expect(await store.manifests.referrers("library/app", s, "application/spdx+json")).toEqual(
          byDigest(referrers.filter((m) => m.record.artifactType === "application/spdx+json").map((m) => m.record)),
        );
        expect(await store.manifests.referrers("library/app", s, "application/none")).toEqual([]);
        expect(await store.manifests.referrers("library/app", digestOf("no-referrers"))).toEqual([]);
        expect(await store.manifests.referrers("library/none", s)).toEqual([]);
      });

      it("tells which digests are manifests of the repository, with their sizes", async () => {
        const one = manifest("library/app", "one");
        const two = manifest("library/app", "two-with-a-longer-name");
        const elsewhere = manifest("library/other", "three");
        await put(store, one);
        await put(store, two);
        await put(store, elsewhere);
        expect(
          await store.manifests.existing("library/app", [one.record.digest, elsewhere.record.digest, digestOf("none")]),
        ).toEqual(new Map([[one.record.digest, one.content.length]]));
        expect(await store.manifests.existing("library/app", [two.record.digest, one.record.digest])).toEqual(
          new Map([
            [one.record.digest, one.content.length],
            [two.record.digest, two.content.length],
          ]),
        );
        expect(await store.manifests.existing("library/app", [])).toEqual(new Map());
      });

      it("lists the indexes of the repository that list a manifest, present or not, until they go", async () => {
        const child = manifest("library/app", "child");
        const absent = digestOf("never pushed");
        const indexOf = (repository: string, name: string, children: string[]): TestManifest => ({
          ...manifest(repository, name, { mediaType: "application/vnd.oci.image.index.v1+json" }),
          references: { blobs: [], manifests: children },
        });
        const first = indexOf("library/app", "index-1", [child.record.digest, absent]);
        const second = indexOf("library/app", "index-2", [child.record.digest]);
        const elsewhere = indexOf("library/other", "index-3", [child.record.digest]);
        for (const m of [child, first, second, elsewhere]) await put(store, m);
        const byDigest = (digests: string[]) => [...digests].sort();

        expect(await store.manifests.parents("library/app", child.record.digest)).toEqual(
          byDigest([first.record.digest, second.record.digest]),
        );
        expect(await store.manifests.parents("library/app", absent)).toEqual([first.record.digest]);
        expect(await store.manifests.parents("library/app", first.record.digest)).toEqual([]);
        expect(await store.manifests.delete("library/app", second.record.digest)).toBe(true);
        expect(await store.manifests.parents("library/app", child.record.digest)).toEqual([first.record.digest]);
        // Put again without the child: the index no longer lists it.
        await put(store, { ...first, references: { blobs: [], manifests: [absent] } });
        expect(await store.manifests.parents("library/app", child.record.digest)).toEqual([]);
        expect(await store.manifests.parents("library/other", child.record.digest)).toEqual([elsewhere.record.digest]);
      });
    });

    describe("tags", () => {
      let one: TestManifest;
      let two: TestManifest;

      beforeEach(async () => {
        one = manifest("library/app", "one");
        two = manifest("library/app", "two");
        await put(store, one);
        await put(store, two);
      });

      it("creates, moves and deletes a tag", async () => {
        expect(await store.tags.get("library/app", "v1")).toBeUndefined();
        await store.tags.put("library/app", "v1", one.record.digest, at(1_000));
        expect(await store.tags.get("library/app", "v1")).toEqual({
          repository: "library/app",
          name: "v1",
          digest: one.record.digest,
          updatedAt: at(1_000),
        });

        await store.tags.put("library/app", "v1", two.record.digest, at(2_000));
        expect(await store.tags.get("library/app", "v1")).toEqual({
          repository: "library/app",
          name: "v1",
          digest: two.record.digest,
          updatedAt: at(2_000),
        });
        expect(await store.tags.forDigest("library/app", one.record.digest)).toEqual([]);
        expect(await store.tags.list("library/app", {})).toEqual(["v1"]);

        expect(await store.tags.delete("library/app", "v1")).toBe(true);
        expect(await store.tags.delete("library/app", "v1")).toBe(false);
        expect(await store.tags.get("library/app", "v1")).toBeUndefined();
        // The manifest stays.
        expect(await store.manifests.get("library/app", two.record.digest)).toEqual(two.record);
      });

      it("lists tag names in ASCII order with after and limit", async () => {
        for (const name of ["b", "a.1", "B", "a", "0", "A_", "_x"]) {
          await store.tags.put("library/app", name, one.record.digest, at(0));
        }
        await put(store, manifest("library/other", "one"));
        await store.tags.put("library/other", "aa", one.record.digest, at(0));
        const all = ["0", "A_", "B", "_x", "a", "a.1", "b"];

        expect(await store.tags.list("library/app", {})).toEqual(all);
        expect(await store.tags.list("library/app", { limit: 2 })).toEqual(["0", "A_"]);
        expect(await store.tags.list("library/app", { after: "B", limit: 3 })).toEqual(["_x", "a", "a.1"]);
        // `after` need not be a tag name.
        expect(await store.tags.list("library/app", { after: "Z" })).toEqual(["_x", "a", "a.1", "b"]);
        expect(await store.tags.list("library/app", { after: "b" })).toEqual([]);
        expect(await store.tags.list("library/app", { limit: 0 })).toEqual([]);
        expect(await store.tags.list("library/app", { limit: 100 })).toEqual(all);
        expect(await store.tags.list("library/none", {})).toEqual([]);
      });

      it("pages through every tag exactly once", async () => {
        const names = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, "0")}`);
        for (const name of names) await store.tags.put("library/app", name, one.record.digest, at(0));
        const seen: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 10; page++) {
          const batch = await store.tags.list("library/app", { after, limit: 5 });
          seen.push(...batch);
          if (batch.length < 5) break;
          after = batch.at(-1);
        }
        expect(seen).toEqual(names);
      });

      it("names the tags pointing at a digest, in ASCII order, in one repository", async () => {
        for (const name of ["latest", "V1", "v1"]) await store.tags.put("library/app", name, one.record.digest, at(0));
        await store.tags.put("library/app", "v2", two.record.digest, at(0));
        await put(store, manifest("library/other", "one"));
        await store.tags.put("library/other", "elsewhere", one.record.digest, at(0));

        expect(await store.tags.forDigest("library/app", one.record.digest)).toEqual(["V1", "latest", "v1"]);
        expect(await store.tags.forDigest("library/app", two.record.digest)).toEqual(["v2"]);
        expect(await store.tags.forDigest("library/app", digestOf("none"))).toEqual([]);
      });
    });

    describe("manifest listing", () => {
      it("lists a repository's manifests newest first, paginated, with the total", async () => {
        const older = manifest("list/app", "older", { createdAt: at(1) });
        const newer = manifest("list/app", "newer", { createdAt: at(2) });
        await put(store, older);
        await put(store, newer);
        await put(store, manifest("list/other", "elsewhere"));
        const listed = await store.manifests.list("list/app", { offset: 0, limit: 10 });
        expect(listed.total).toBe(2);
        expect(listed.items.map((m) => m.digest)).toEqual([newer.record.digest, older.record.digest]);
        expect(await store.manifests.list("list/app", { offset: 1, limit: 5 })).toMatchObject({
          total: 2,
          items: [{ digest: older.record.digest }],
        });
        expect(await store.manifests.list("list/none", { offset: 0, limit: 5 })).toEqual({ items: [], total: 0 });
      });
    });

    describe("repositories", () => {
      it("exists once something was uploaded, linked or pushed to it", async () => {
        expect(await store.repositories.exists("by-upload")).toBe(false);
        await store.uploads.create(upload("u1", { repository: "by-upload" }));
        const record = blob("a");
        await store.blobs.create(record);
        await store.blobs.link("by-link", record.digest);
        await put(store, manifest("by-push", "one"));
        expect(await store.repositories.exists("by-upload")).toBe(true);
        expect(await store.repositories.exists("by-link")).toBe(true);
        expect(await store.repositories.exists("by-push")).toBe(true);
        expect(await store.repositories.exists("by")).toBe(false);
        // Creating the blob alone does not create a repository.
        expect(await store.repositories.list({})).toEqual(["by-link", "by-push", "by-upload"]);
      });

      it("lists repository names in ASCII order with after and limit", async () => {
        const record = blob("a");
        await store.blobs.create(record);
        for (const name of ["beta", "alpha/one", "0zero", "alpha.three", "alpha-two"]) {
          await store.blobs.link(name, record.digest);
        }
        const all = ["0zero", "alpha-two", "alpha.three", "alpha/one", "beta"];
        expect(await store.repositories.list({})).toEqual(all);
        expect(await store.repositories.list({ limit: 2 })).toEqual(["0zero", "alpha-two"]);
        expect(await store.repositories.list({ after: "alpha-two", limit: 2 })).toEqual(["alpha.three", "alpha/one"]);
        expect(await store.repositories.list({ after: "alpha" })).toEqual([
          "alpha-two",
          "alpha.three",
          "alpha/one",
          "beta",
        ]);
        expect(await store.repositories.list({ after: "beta" })).toEqual([]);
        expect(await store.repositories.list({ limit: 0 })).toEqual([]);
      });

      it("lists a project's repositories with manifest counts, a name filter and totals", async () => {
        const record = blob("r");
        await store.blobs.create(record);
        for (const name of ["team/b", "team/a", "team_x/c", "team2/d", "other/team/e"])
          await store.blobs.link(name, record.digest);
        await put(store, manifest("team/a", "one"));
        await put(store, manifest("team/a", "two"));

        const all = await store.repositories.listInProject("team", {}, { offset: 0, limit: 10 });
        expect(all.total).toBe(2);
        expect(all.items.map((r) => [r.name, r.manifestCount])).toEqual([
          ["team/a", 2],
          ["team/b", 0],
        ]);
        const page = await store.repositories.listInProject("team", {}, { offset: 1, limit: 1 });
        expect(page).toMatchObject({ total: 2, items: [{ name: "team/b" }] });
        const filtered = await store.repositories.listInProject("team", { contains: "/b" }, { offset: 0, limit: 10 });
        expect(filtered).toMatchObject({ total: 1, items: [{ name: "team/b" }] });
        expect((await store.repositories.listInProject("team_", {}, { offset: 0, limit: 10 })).total).toBe(0);
      });

      it("deletes a repository with its manifests, tags, links and uploads, and nothing of others", async () => {
        const record = blob("shared");
        await store.blobs.create(record);
        for (const name of ["team/app", "team/other"]) {
          await store.blobs.link(name, record.digest);
          await put(store, manifest(name, "one"));
          await store.tags.put(name, "latest", manifest(name, "one").record.digest, at(1));
        }
        await store.uploads.create(upload("u-team", { repository: "team/app" }));

        expect(await store.repositories.delete("team/app")).toBe(true);
        expect(await store.repositories.exists("team/app")).toBe(false);
        expect(await store.manifests.get("team/app", manifest("team/app", "one").record.digest)).toBeUndefined();
        expect(await store.tags.get("team/app", "latest")).toBeUndefined();
        expect(await store.blobs.isLinked("team/app", record.digest)).toBe(false);
        expect(await store.uploads.get("u-team")).toBeUndefined();
        // The blob record stays for garbage collection; the other repository is untouched.
        expect(await store.blobs.get(record.digest)).toBeDefined();
        expect(await store.blobs.isLinked("team/other", record.digest)).toBe(true);
        expect(await store.tags.get("team/other", "latest")).toBeDefined();
        const otherDigest = manifest("team/other", "one").record.digest;
        expect(await store.manifests.content("team/other", otherDigest)).toBeDefined();
        expect(await store.repositories.delete("team/app")).toBe(false);
      });
    });

    describe("transactions", () => {
      it("commits every write of a resolved transaction and passes on its value", async () => {
        const m = manifest("library/app", "one");
        const record = blob("a");
        const value = await store.transaction(async (tx) => {
          await tx.blobs.create(record);
          await tx.blobs.link("library/app", record.digest);
          await tx.manifests.put(m.record, m.content, m.references);
          await tx.tags.put("library/app", "v1", m.record.digest, at(1));
          return "done";
        });
        expect(value).toBe("done");
        expect(await store.blobs.isLinked("library/app", record.digest)).toBe(true);
        expect(await store.manifests.get("library/app", m.record.digest)).toEqual(m.record);
        expect((await store.tags.get("library/app", "v1"))?.digest).toBe(m.record.digest);
      });

      it("rolls back every write of a rejected transaction and passes on the error", async () => {
        const committed = blob("committed");
        await store.blobs.create(committed);
        await store.uploads.create(upload("u1"));
        const failure = new Error("work failed");
        const m = manifest("library/app", "one");

        await expect(
          store.transaction(async (tx) => {
            await tx.blobs.create(blob("a"));
            await tx.blobs.link("library/new", blob("a").digest);
            await tx.blobs.delete(committed.digest);
            await tx.uploads.appendPart("u1", 0, { path: "p", size: 4 }, at(1));
            await tx.manifests.put(m.record, m.content, m.references);
            await tx.tags.put("library/app", "v1", m.record.digest, at(1));
            expect(await tx.blobs.get(blob("a").digest)).toBeDefined();
            throw failure;
          }),
        ).rejects.toBe(failure);

        expect(await store.blobs.get(blob("a").digest)).toBeUndefined();
        expect(await store.repositories.exists("library/new")).toBe(false);
        expect(await store.blobs.get(committed.digest)).toEqual(committed);
        expect(await store.uploads.get("u1")).toEqual(upload("u1"));
        expect(await store.manifests.get("library/app", m.record.digest)).toBeUndefined();
        expect(await store.tags.get("library/app", "v1")).toBeUndefined();
        // The store is usable afterwards.
        expect((await store.blobs.create(blob("a"))).created).toBe(true);
      });

      it("lets a transaction read its own writes while the store sees only committed data", async () => {
        const record = blob("a");
        const m = manifest("library/app", "one");
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let txReady!: () => void;
        const ready = new Promise<void>((resolve) => (txReady = resolve));

        const running = store.transaction(async (tx) => {
          await tx.blobs.create(record);
          await tx.manifests.put(m.record, m.content, m.references);
          await tx.tags.put("library/app", "v1", m.record.digest, at(1));
          expect(await tx.blobs.get(record.digest)).toEqual(record);
          expect(await tx.manifests.get("library/app", m.record.digest)).toEqual(m.record);
          expect((await tx.manifests.content("library/app", m.record.digest))?.equals(m.content)).toBe(true);
          expect(await tx.tags.list("library/app", {})).toEqual(["v1"]);
          expect(await tx.repositories.exists("library/app")).toBe(true);
          txReady();
          await released;
        });

        // If the transaction fails before it is ready, this rejects instead of waiting for ever.
        await Promise.race([ready, running]);
        try {
          // The transaction is open and waiting: its writes are not visible outside it.
          expect(await store.blobs.get(record.digest)).toBeUndefined();
          expect(await store.manifests.get("library/app", m.record.digest)).toBeUndefined();
          expect(await store.manifests.content("library/app", m.record.digest)).toBeUndefined();
          expect(await store.tags.get("library/app", "v1")).toBeUndefined();
          expect(await store.repositories.exists("library/app")).toBe(false);
        } finally {
          // Always end it, or closing the store in cleanup would wait for it.
          release();
          await running;
        }

        expect(await store.blobs.get(record.digest)).toEqual(record);
        expect((await store.tags.get("library/app", "v1"))?.digest).toBe(m.record.digest);
      });

      it("runs concurrent transactions one after the other, and commits both", async () => {
        const m = manifest("library/app", "one");
        await put(store, m);
        const events: string[] = [];
        // Read-modify-write: each names its tag after the number of tags it sees. Interleaved,
        // both would see none and write "t0".
        const addTag = (who: string) =>
          store.transaction(async (tx) => {
            events.push(`${who} start`);
            const count = (await tx.tags.list("library/app", {})).length;
            await delay(20);
            await tx.tags.put("library/app", `t${count}`, m.record.digest, at(count));
            await delay(5);
            events.push(`${who} end`);
            return count;
          });

        const counts = await Promise.all([addTag("A"), addTag("B")]);
        expect(counts.sort()).toEqual([0, 1]);
        expect(events).toEqual(
          events[0] === "A start" ? ["A start", "A end", "B start", "B end"] : ["B start", "B end", "A start", "A end"],
        );
        expect(await store.tags.list("library/app", {})).toEqual(["t0", "t1"]);
      });

      it("orders a single write made during a transaction after it", async () => {
        const m = manifest("library/app", "one");
        await put(store, m);
        const running = store.transaction(async (tx) => {
          await delay(20);
          await tx.tags.put("library/app", "latest", m.record.digest, at(1));
        });
        // Issued while the transaction is open; it must not be lost or overwritten by it.
        const single = store.tags.put("library/app", "latest", m.record.digest, at(2));
        await Promise.all([running, single]);
        expect((await store.tags.get("library/app", "latest"))?.updatedAt).toEqual(at(2));
      });
    });

    it("round-trips dates with millisecond precision", async () => {
      const created = new Date("2023-12-31T23:59:59.999Z");
      const updated = new Date("2024-01-01T00:00:00.001Z");
      await store.blobs.create(blob("a", { createdAt: created }));
      await store.uploads.create(upload("u1", { createdAt: created, updatedAt: updated }));
      const m = manifest("library/app", "one", { createdAt: created });
      await put(store, m);
      await store.tags.put("library/app", "v1", m.record.digest, updated);

      const gotBlob = await store.blobs.get(blob("a").digest);
      expect(gotBlob?.createdAt).toBeInstanceOf(Date);
      expect(gotBlob?.createdAt.getTime()).toBe(created.getTime());
      const gotUpload = await store.uploads.get("u1");
      expect(gotUpload?.createdAt.getTime()).toBe(created.getTime());
      expect(gotUpload?.updatedAt.getTime()).toBe(updated.getTime());
      expect((await store.manifests.get("library/app", m.record.digest))?.createdAt.getTime()).toBe(created.getTime());
      expect((await store.tags.get("library/app", "v1"))?.updatedAt.getTime()).toBe(updated.getTime());
      const appended = await store.uploads.appendPart("u1", 0, { path: "p", size: 1 }, new Date(T0 + 7));
      expect(appended?.updatedAt.getTime()).toBe(T0 + 7);
    });
  });
}
