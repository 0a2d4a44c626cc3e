// The behaviour every metadata store backend must have in its artifacts area (ids, descriptions
// and the management API's listings), as one vitest suite each backend's test file calls with a
// way to open a fresh, empty store. Semantics come from the doc comments in
// src/metadata/artifact-store.ts.

import { describe, expect, it } from "vitest";
import type { ArtifactQuery } from "../../src/metadata/artifact-store.ts";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { ManifestRecord, MetadataStore } from "../../src/metadata/metadata-store.ts";
import { digestOf, openEachTest, type ContractStore } from "./metadata-store-contract.ts";

const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";

interface Pushed {
  record: ManifestRecord;
  digest: string;
}

/** Puts a manifest whose bytes (and so digest) are determined by `name`. */
async function put(
  store: MetadataStore,
  repository: string,
  name: string,
  overrides: Partial<ManifestRecord> & { children?: string[] } = {},
): Promise<Pushed> {
  const { children = [], ...fields } = overrides;
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, name }));
  const digest = digestOf(content.toString("latin1"));
  const mediaType = fields.mediaType ?? (children.length > 0 ? OCI_INDEX : OCI_MANIFEST);
  const record: ManifestRecord = {
    repository,
    digest,
    mediaType,
    size: content.length,
    ...(mediaType === OCI_MANIFEST && { configMediaType: OCI_CONFIG, artifactType: OCI_CONFIG }),
    createdAt: at(0),
    ...fields,
  };
  await store.manifests.put(record, content, { blobs: [], manifests: children });
  return { record, digest };
}

export function artifactStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`artifact store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    const digests = async (repository: string, query: Partial<ArtifactQuery> = {}): Promise<string[]> =>
      (await store.artifacts.artifacts(repository, { sort: [], ...query }, ALL)).items.map((a) => a.digest);

    describe("repositories", () => {
      it("numbers repositories as they are created, whatever creates them, and never reuses a number", async () => {
        await store.uploads.create({
          id: "u1",
          repository: "p/by-upload",
          algorithm: "sha256",
          size: 0,
          parts: [],
          createdAt: at(1),
          updatedAt: at(1),
        });
        await store.blobs.create({ digest: digestOf("b"), size: 1, parts: [], createdAt: at(0) });
        await store.blobs.link("p/by-link", digestOf("b"));
        await put(store, "p/by-push", "m", { createdAt: at(3) });
        const ids = await Promise.all(
          ["p/by-upload", "p/by-link", "p/by-push"].map(async (n) => (await store.artifacts.repository(n))?.id),
        );
        expect(ids.every((id) => Number.isInteger(id) && (id ?? 0) > 0)).toBe(true);
        expect(new Set(ids).size).toBe(3);
        expect([...ids].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(ids);

        const before = Math.max(...ids.map((id) => id ?? 0));
        expect(await store.repositories.delete("p/by-push")).toBe(true);
        await put(store, "p/by-push", "m");
        expect((await store.artifacts.repository("p/by-push"))?.id).toBeGreaterThan(before);
        expect(await store.artifacts.repository("p/none")).toBeUndefined();
      });

      it("keeps a description, empty until set, and counts its setting as the last update", async () => {
        await put(store, "p/app", "m", { createdAt: at(5) });
        const created = await store.artifacts.repository("p/app");
        expect(created).toMatchObject({ name: "p/app", description: "" });
        expect(created?.updatedAt.getTime()).toBe(created?.createdAt.getTime());

        const described = await store.artifacts.describeRepository("p/app", "The app ✓", at(9_000));
        expect(described).toEqual({ ...created, description: "The app ✓", updatedAt: at(9_000) });
        expect(await store.artifacts.repository("p/app")).toEqual(described);
        expect(await store.artifacts.describeRepository("p/none", "x", at(1))).toBeUndefined();
        // Pushing again changes neither.
        await put(store, "p/app", "other");
        expect(await store.artifacts.repository("p/app")).toEqual(described);
      });

      it("lists a project's repositories by name, ids, any order, with totals", async () => {
        for (const [i, repository] of [
          "team/b",
          "team/a",
          "team/Z-upper",
          "team_x/c",
          "team2/d",
          "other/team/e",
        ].entries()) {
          await store.blobs.create({ digest: digestOf(repository), size: 1, parts: [], createdAt: at(0) });
          await store.blobs.link(repository, digestOf(repository));
          await store.artifacts.describeRepository(repository, `#${i}`, at(i));
        }
        const names = async (query: Parameters<MetadataStore["artifacts"]["repositories"]>[0], window = ALL) =>
          (await store.artifacts.repositories(query, window)).items.map((r) => r.name);

        expect(await names({ projects: ["team"], sort: [{ key: "name", desc: false }] })).toEqual([
          "team/Z-upper",
          "team/a",
          "team/b",
        ]);
        expect(await names({ projects: ["team"], sort: [{ key: "id", desc: true }] })).toEqual([
          "team/Z-upper",
          "team/a",
          "team/b",
        ]);
        expect(await names({ projects: ["team"], sort: [{ key: "update_time", desc: true }] })).toEqual([
          "team/Z-upper",
          "team/a",
          "team/b",
        ]);
        expect(await names({ projects: ["team", "team2"], sort: [{ key: "name", desc: false }] })).toEqual([
          "team/Z-upper",
          "team/a",
          "team/b",
          "team2/d",
        ]);
        expect(await names({ projects: [], sort: [] })).toEqual([]);
        expect((await store.artifacts.repositories({ sort: [] }, ALL)).total).toBe(6);
        // Fuzzy matching ignores case; exact matching is on the full name.
        expect(await names({ projects: ["team"], name: { value: "z-UP", fuzzy: true }, sort: [] })).toEqual([
          "team/Z-upper",
        ]);
        expect(await names({ name: { value: "team/a", fuzzy: false }, sort: [] })).toEqual(["team/a"]);
        expect(await names({ name: { value: "a", fuzzy: false }, sort: [] })).toEqual([]);
        const a = await store.artifacts.repository("team/a");
        expect(await names({ ids: [a?.id ?? 0, 999_999], sort: [] })).toEqual(["team/a"]);

        const page = await store.artifacts.repositories(
          { projects: ["team"], sort: [{ key: "name", desc: true }] },
          { offset: 1, limit: 1 },
        );
        expect(page.total).toBe(3);
        expect(page.items.map((r) => r.name)).toEqual(["team/a"]);
      });
    });

    describe("artifacts", () => {
      it("gives each manifest of a repository an id it keeps when put again, and never reuses", async () => {
        const one = await put(store, "p/app", "one");
        const two = await put(store, "p/app", "two");
        const elsewhere = await put(store, "p/other", "one");
        const first = await store.artifacts.artifact("p/app", one.digest);
        expect(first).toEqual({ ...one.record, id: first?.id });
        const ids = [first?.id, (await store.artifacts.artifact("p/app", two.digest))?.id];
        ids.push((await store.artifacts.artifact("p/other", elsewhere.digest))?.id);
        expect(new Set(ids).size).toBe(3);

        await put(store, "p/app", "one", { createdAt: at(7) });
        expect((await store.artifacts.artifact("p/app", one.digest))?.id).toBe(first?.id);
        await store.manifests.delete("p/app", one.digest);
        expect(await store.artifacts.artifact("p/app", one.digest)).toBeUndefined();
        await put(store, "p/app", "one");
        expect((await store.artifacts.artifact("p/app", one.digest))?.id).toBeGreaterThan(Math.max(...ids.map(Number)));
      });

      it("keeps an image's config media type, and leaves it out for an index", async () => {
        const chart = await put(store, "p/app", "chart", { configMediaType: HELM_CONFIG, artifactType: HELM_CONFIG });
        const index = await put(store, "p/app", "index", { children: [chart.digest] });
        expect((await store.manifests.get("p/app", chart.digest))?.configMediaType).toBe(HELM_CONFIG);
        expect((await store.artifacts.artifact("p/app", chart.digest))?.configMediaType).toBe(HELM_CONFIG);
        expect((await store.artifacts.artifact("p/app", index.digest))?.configMediaType).toBeUndefined();
      });

      it("lists what Harbor lists: tagged manifests and the untagged ones no index lists, no accessories", async () => {
        const child = await put(store, "p/app", "child", { createdAt: at(1) });
        const taggedChild = await put(store, "p/app", "tagged-child", { createdAt: at(2) });
        const index = await put(store, "p/app", "index", {
          children: [child.digest, taggedChild.digest],
          createdAt: at(3),
        });
        const loose = await put(store, "p/app", "loose", { createdAt: at(4) });
        const sbom = await put(store, "p/app", "sbom", { subject: loose.digest, createdAt: at(5) });
        const signature = await put(store, "p/app", "signature", { createdAt: at(6) });
        const lookalike = await put(store, "p/app", "lookalike", { createdAt: at(7) });
        await store.tags.put("p/app", "v1", index.digest, at(10));
        await store.tags.put("p/app", "amd64", taggedChild.digest, at(10));
        await store.tags.put("p/app", `sha256-${loose.digest.slice(7)}.sig`, signature.digest, at(10));
        // cosign's form, naming no manifest of the repository: an ordinary tag.
        await store.tags.put("p/app", `sha256-${digestOf("absent").slice(7)}.sig`, lookalike.digest, at(10));

        const newest = [{ key: "push_time", desc: true }] as const;
        expect(await digests("p/app", { sort: newest })).toEqual([
          lookalike.digest,
          loose.digest,
          index.digest,
          taggedChild.digest,
        ]);
        expect(await digests("p/app", { all: true, sort: newest })).toEqual([
          lookalike.digest,
          loose.digest,
          index.digest,
          taggedChild.digest,
          child.digest,
        ]);
        expect(await digests("p/app", { tagged: true, sort: newest })).toEqual([
          lookalike.digest,
          index.digest,
          taggedChild.digest,
        ]);
        expect(await digests("p/app", { tagged: false })).toEqual([loose.digest]);
        expect(await digests("p/app", { tag: { value: "AMD", fuzzy: true } })).toEqual([taggedChild.digest]);
        expect(await digests("p/app", { tag: { value: "v1", fuzzy: false } })).toEqual([index.digest]);
        expect((await store.artifacts.artifacts("p/app", { sort: [] }, { offset: 0, limit: 0 })).total).toBe(4);
        // The accessories are still artifacts of the repository, by digest.
        expect(await store.artifacts.artifact("p/app", sbom.digest)).toBeDefined();
        expect(await store.artifacts.artifact("p/app", signature.digest)).toBeDefined();
      });

      it("filters by digest, media types, artifact type, ids and push time", async () => {
        const image = await put(store, "p/app", "image", { createdAt: at(1_000) });
        const chart = await put(store, "p/app", "chart", {
          configMediaType: HELM_CONFIG,
          artifactType: HELM_CONFIG,
          createdAt: at(2_000),
        });
        const index = await put(store, "p/app", "index", { mediaType: OCI_INDEX, createdAt: at(3_000) });
        const cnab = await put(store, "p/app", "cnab", {
          mediaType: OCI_INDEX,
          annotations: { "org.opencontainers.artifactType": "application/vnd.cnab.manifest.v1" },
          createdAt: at(4_000),
        });
        const sorted = (list: string[]) => [...list].sort();

        expect(await digests("p/app", { digest: { value: image.digest, fuzzy: false } })).toEqual([image.digest]);
        expect(
          await digests("p/app", { digest: { value: chart.digest.slice(10, 30).toUpperCase(), fuzzy: true } }),
        ).toEqual([chart.digest]);
        // The media type is the config's for an image manifest, the annotated or own for an index.
        expect(await digests("p/app", { mediaType: [{ value: HELM_CONFIG, fuzzy: false }] })).toEqual([chart.digest]);
        expect(await digests("p/app", { mediaType: [{ value: "HELM", fuzzy: true }] })).toEqual([chart.digest]);
        expect(sorted(await digests("p/app", { mediaType: [{ anyOf: [OCI_CONFIG, OCI_INDEX] }] }))).toEqual(
          sorted([image.digest, index.digest]),
        );
        expect(
          await digests("p/app", { mediaType: [{ value: "application/vnd.cnab.manifest.v1", fuzzy: false }] }),
        ).toEqual([cnab.digest]);
        expect(
          sorted(
            await digests("p/app", {
              mediaType: [{ noneOf: [OCI_CONFIG, OCI_INDEX, "application/vnd.cnab.manifest.v1"] }],
            }),
          ),
        ).toEqual([chart.digest]);
        expect(await digests("p/app", { mediaType: [{ like: "application/vnd.%.helm.config.%+json" }] })).toEqual([
          chart.digest,
        ]);
        // `_` is no wildcard.
        expect(await digests("p/app", { mediaType: [{ like: "application/vnd.%.hel_.config.%+json" }] })).toEqual([]);
        expect(
          sorted(
            await digests("p/app", {
              mediaType: [{ noneOf: [HELM_CONFIG] }, { notLike: "application/vnd.%.%.config.%+json" }],
            }),
          ),
        ).toEqual(sorted([index.digest, cnab.digest]));
        expect(sorted(await digests("p/app", { manifestMediaType: { value: "index", fuzzy: true } }))).toEqual(
          sorted([index.digest, cnab.digest]),
        );
        expect(await digests("p/app", { artifactType: { value: HELM_CONFIG, fuzzy: false } })).toEqual([chart.digest]);
        const chartId = (await store.artifacts.artifact("p/app", chart.digest))?.id ?? 0;
        expect(await digests("p/app", { ids: [chartId, 123_456] })).toEqual([chart.digest]);
        expect(await digests("p/app", { ids: [] })).toEqual([]);
        expect(sorted(await digests("p/app", { pushed: { from: at(2_000), to: at(3_000) } }))).toEqual(
          sorted([chart.digest, index.digest]),
        );
        expect(await digests("p/app", { pushed: { from: at(4_000) } })).toEqual([cnab.digest]);
      });

      it("orders by the keys given, then by id, and pages with the total", async () => {
        const pushed: Pushed[] = [];
        for (const [i, n] of ["c", "a", "b", "d"].entries()) {
          pushed.push(await put(store, "p/app", n, { createdAt: at(i % 2 === 0 ? 0 : 1_000) }));
          await store.tags.put("p/app", n, pushed[i]?.digest ?? "", at(0));
        }
        const ids = await Promise.all(
          pushed.map(async (p) => (await store.artifacts.artifact("p/app", p.digest))?.id ?? 0),
        );
        const byId = (list: number[]) => list.map((id) => pushed[ids.indexOf(id)]?.digest);
        expect(await digests("p/app")).toEqual(byId([...ids].sort((x, y) => x - y)));
        // Newest first, ties by id descending: Harbor's default.
        expect(
          await digests("p/app", {
            sort: [
              { key: "push_time", desc: true },
              { key: "id", desc: true },
            ],
          }),
        ).toEqual(byId([ids[3] ?? 0, ids[1] ?? 0, ids[2] ?? 0, ids[0] ?? 0]));
        expect(await digests("p/app", { sort: [{ key: "digest", desc: false }] })).toEqual(
          pushed.map((p) => p.digest).sort(),
        );
        const page = await store.artifacts.artifacts(
          "p/app",
          { sort: [{ key: "id", desc: false }] },
          { offset: 1, limit: 2 },
        );
        expect(page.total).toBe(4);
        expect(page.items.map((a) => a.id)).toEqual([...ids].sort((x, y) => x - y).slice(1, 3));
      });

      it("counts every project's artifacts by the media type Harbor reports, in one call", async () => {
        const child = await put(store, "p/app", "child");
        await put(store, "p/app", "index", { mediaType: OCI_INDEX, children: [child.digest] });
        await put(store, "p/app", "cnab", {
          mediaType: OCI_INDEX,
          annotations: { "org.opencontainers.artifactType": "application/vnd.cnab.manifest.v1" },
        });
        await put(store, "p/other", "image");
        await put(store, "p/other", "chart", { configMediaType: HELM_CONFIG, artifactType: HELM_CONFIG });
        // "p_x" would match a LIKE 'p_%'; a name without a project counts for none.
        await put(store, "p_x/app", "image");
        await put(store, "loose", "image");

        expect(await store.artifacts.artifactCounts()).toEqual([
          { project: "p", mediaType: "application/vnd.cnab.manifest.v1", count: 1 },
          { project: "p", mediaType: HELM_CONFIG, count: 1 },
          { project: "p", mediaType: OCI_CONFIG, count: 2 },
          { project: "p", mediaType: OCI_INDEX, count: 1 },
          { project: "p_x", mediaType: OCI_CONFIG, count: 1 },
        ]);
      });
    });

    describe("tags", () => {
      it("gives tags ids, kept when a push moves them, and lists them by artifact and name", async () => {
        const one = await put(store, "p/app", "one");
        const two = await put(store, "p/app", "two");
        await store.tags.put("p/app", "latest", one.digest, at(1));
        await store.tags.put("p/app", "v1.0", one.digest, at(2));
        await store.tags.put("p/app", "V1-rc", two.digest, at(3));
        const oneId = (await store.artifacts.artifact("p/app", one.digest))?.id;
        const twoId = (await store.artifacts.artifact("p/app", two.digest))?.id;

        const ofOne = await store.artifacts.tags("p/app", { digest: one.digest, sort: [] }, ALL);
        expect(ofOne.total).toBe(2);
        expect(ofOne.items.map((t) => [t.name, t.digest, t.artifactId, t.updatedAt])).toEqual([
          ["latest", one.digest, oneId, at(1)],
          ["v1.0", one.digest, oneId, at(2)],
        ]);
        const latest = ofOne.items[0];
        await store.tags.put("p/app", "latest", two.digest, at(9));
        const moved = await store.artifacts.tags("p/app", { name: { value: "latest", fuzzy: false }, sort: [] }, ALL);
        expect(moved.items).toEqual([{ ...latest, digest: two.digest, artifactId: twoId, updatedAt: at(9) }]);

        const names = async (query: Parameters<MetadataStore["artifacts"]["tags"]>[1], window = ALL) =>
          (await store.artifacts.tags("p/app", query, window)).items.map((t) => t.name);
        expect(await names({ name: { value: "v1", fuzzy: true }, sort: [{ key: "name", desc: false }] })).toEqual([
          "V1-rc",
          "v1.0",
        ]);
        expect(await names({ sort: [{ key: "push_time", desc: true }] })).toEqual(["latest", "V1-rc", "v1.0"]);
        expect(await names({ sort: [{ key: "name", desc: true }] }, { offset: 1, limit: 1 })).toEqual(["latest"]);
        expect((await store.artifacts.tags("p/other", { sort: [] }, ALL)).total).toBe(0);
      });

      it("creates a tag unless the repository has one of that name, and deletes it only from its artifact", async () => {
        const one = await put(store, "p/app", "one");
        const two = await put(store, "p/app", "two");
        const made = await store.artifacts.createTag("p/app", "v1", one.digest, at(5));
        expect(made).toMatchObject({ repository: "p/app", name: "v1", digest: one.digest, updatedAt: at(5) });
        expect(made.artifactId).toBe((await store.artifacts.artifact("p/app", one.digest))?.id);
        expect((await store.tags.get("p/app", "v1"))?.digest).toBe(one.digest);

        await expect(store.artifacts.createTag("p/app", "v1", two.digest, at(6))).rejects.toBeInstanceOf(ConflictError);
        await expect(store.artifacts.createTag("p/app", "v1", one.digest, at(6))).rejects.toBeInstanceOf(ConflictError);
        expect((await store.tags.get("p/app", "v1"))?.updatedAt).toEqual(at(5));

        expect(await store.artifacts.deleteTag("p/app", "v1", two.digest)).toBe(false);
        expect(await store.artifacts.deleteTag("p/app", "v1", one.digest)).toBe(true);
        expect(await store.tags.get("p/app", "v1")).toBeUndefined();
        expect(await store.artifacts.deleteTag("p/app", "v1", one.digest)).toBe(false);
        const again = await store.artifacts.createTag("p/app", "v1", two.digest, at(7));
        expect(again.id).toBeGreaterThan(made.id);
      });

      it("creates tags inside a transaction, all or nothing", async () => {
        const one = await put(store, "p/app", "one");
        await expect(
          store.transaction(async (tx) => {
            await tx.artifacts.createTag("p/app", "a", one.digest, at(1));
            await tx.artifacts.createTag("p/app", "a", one.digest, at(1));
          }),
        ).rejects.toBeInstanceOf(ConflictError);
        expect(await store.tags.get("p/app", "a")).toBeUndefined();
      });
    });
  });
}
