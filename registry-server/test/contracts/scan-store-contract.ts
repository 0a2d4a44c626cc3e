// The behaviour every metadata store backend must have in its scanning areas (scan reports, CVE
// allowlists), as one vitest suite each backend's test file calls with a way to open a fresh,
// empty store. Semantics come from src/metadata/scan-store.ts.

import { describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { ScanReportKey } from "../../src/metadata/scan-store.ts";
import { digestOf, openEachTest, type ContractStore } from "./metadata-store-contract.ts";

const T0 = Date.parse("2024-05-06T07:08:09.123Z");
function at(offsetMs: number): Date {
  return new Date(T0 + offsetMs);
}

const MIME = "application/vnd.security.vulnerability.report; version=1.1";
const SBOM = "application/vnd.security.sbom.report+json; version=1.0";
const SCANNER = { name: "Trivy", vendor: "Aqua Security", version: "v0.74.0" };

function key(name: string, overrides: Partial<ScanReportKey> = {}): ScanReportKey {
  return { digest: digestOf(name), registrationUuid: "reg-1", mimeType: MIME, ...overrides };
}

async function putManifest(store: MetadataStore, repository: string, name: string): Promise<string> {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, name }));
  const digest = digestOf(name);
  await store.manifests.put(
    {
      repository,
      digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: content.length,
      createdAt: at(0),
    },
    content,
    { blobs: [], manifests: [] },
  );
  return digest;
}

export function scanStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`scan store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    describe("scan reports", () => {
      it("goes Pending, Running, then ends with its report, summary and database time", async () => {
        const begun = await store.scanReports.begin(key("a"), 7, at(0));
        expect(begun).toMatchObject({ ...key("a"), status: "Pending", executionId: 7, startTime: at(0) });
        const uuid = begun!.uuid;
        expect(await store.scanReports.start(uuid, 11, SCANNER, at(1_000))).toBe(true);
        expect(await store.scanReports.get(uuid)).toMatchObject({ status: "Running", taskId: 11, scanner: SCANNER });
        const summary = { total: 3, fixable: 1, summary: { High: 1, Low: 2 } };
        const finished = await store.scanReports.finish(
          uuid,
          {
            status: "Success",
            report: '{"vulnerabilities":[]}',
            severity: "High",
            summary,
            databaseUpdatedAt: at(-86_400_000),
          },
          at(5_000),
        );
        expect(finished).toBe(true);
        const record = await store.scanReports.get(uuid);
        expect(record).toMatchObject({
          status: "Success",
          severity: "High",
          summary,
          scanner: SCANNER,
          startTime: at(1_000),
          endTime: at(5_000),
          databaseUpdatedAt: at(-86_400_000),
        });
        expect(await store.scanReports.reportText(uuid)).toBe('{"vulnerabilities":[]}');
        // Ended: neither started nor finished again.
        expect(await store.scanReports.start(uuid, 12, SCANNER, at(6_000))).toBe(false);
        expect(await store.scanReports.finish(uuid, { status: "Error", message: "late" }, at(6_000))).toBe(false);
        expect((await store.scanReports.get(uuid))?.status).toBe("Success");
      });

      it("refuses a second scan while one is under way, and replaces an ended one", async () => {
        const first = await store.scanReports.begin(key("a"), 1, at(0));
        expect(await store.scanReports.begin(key("a"), 2, at(1_000))).toBeUndefined();
        await store.scanReports.start(first!.uuid, 1, SCANNER, at(1_000));
        expect(await store.scanReports.begin(key("a"), 2, at(1_000))).toBeUndefined();
        await store.scanReports.finish(first!.uuid, { status: "Error", message: "scanner down" }, at(2_000));
        expect((await store.scanReports.get(first!.uuid))?.message).toBe("scanner down");
        const second = await store.scanReports.begin(key("a"), 2, at(3_000));
        expect(second).toMatchObject({ status: "Pending", executionId: 2 });
        expect(second!.uuid).not.toBe(first!.uuid);
        expect(second!.message).toBeUndefined();
        expect(await store.scanReports.get(first!.uuid)).toBeUndefined();
        // Another MIME type or scanner is another report.
        expect(await store.scanReports.begin(key("a", { mimeType: SBOM }), 3, at(0))).toBeDefined();
        expect(await store.scanReports.begin(key("a", { registrationUuid: "reg-2" }), 3, at(0))).toBeDefined();
      });

      it("lists the reports of digests, narrowed by scanner and MIME type", async () => {
        for (const k of [key("a"), key("a", { mimeType: SBOM }), key("b", { registrationUuid: "reg-2" }), key("c")]) {
          await store.scanReports.begin(k, 1, at(0));
        }
        const all = await store.scanReports.forDigests([digestOf("a"), digestOf("b")]);
        expect(all.map((r) => [r.digest, r.registrationUuid, r.mimeType])).toEqual(
          [
            [digestOf("a"), "reg-1", MIME],
            [digestOf("a"), "reg-1", SBOM],
            [digestOf("b"), "reg-2", MIME],
          ].sort((x, y) => (x[0]! + x[2]! < y[0]! + y[2]! ? -1 : 1)),
        );
        const narrowed = await store.scanReports.forDigests([digestOf("a"), digestOf("b")], {
          registrationUuid: "reg-1",
          mimeTypes: [MIME],
        });
        expect(narrowed.map((r) => r.digest)).toEqual([digestOf("a")]);
        expect(await store.scanReports.forDigests([])).toEqual([]);
        expect(await store.scanReports.forDigests([digestOf("a")], { mimeTypes: [] })).toEqual([]);
      });

      it("finds an execution's unfinished reports and counts by status", async () => {
        const a = await store.scanReports.begin(key("a"), 5, at(0));
        const b = await store.scanReports.begin(key("b"), 5, at(0));
        await store.scanReports.begin(key("c"), 6, at(0));
        await store.scanReports.finish(
          a!.uuid,
          { status: "Success", summary: { total: 0, fixable: 0, summary: {} } },
          at(1),
        );
        expect((await store.scanReports.unfinished(5)).map((r) => r.uuid)).toEqual([b!.uuid]);
        expect(await store.scanReports.countByStatus([5])).toEqual({ Success: 1, Pending: 1 });
        expect(await store.scanReports.countByStatus()).toEqual({ Success: 1, Pending: 2 });
        expect(await store.scanReports.countByStatus([])).toEqual({});
      });

      it("sums vulnerabilities per project over the manifests holding each digest", async () => {
        await store.projects.create({ name: "prod", ownerId: 1, metadata: {}, storageLimit: -1 }, at(0));
        await store.projects.create({ name: "dev", ownerId: 1, metadata: {}, storageLimit: -1 }, at(0));
        await putManifest(store, "prod/web", "a");
        await putManifest(store, "dev/web", "a");
        await putManifest(store, "dev/api", "b");
        const a = await store.scanReports.begin(key("a"), 1, at(0));
        const b = await store.scanReports.begin(key("b"), 1, at(0));
        await store.scanReports.finish(
          a!.uuid,
          { status: "Success", summary: { total: 3, fixable: 0, summary: { High: 1, Low: 2 } } },
          at(1),
        );
        await store.scanReports.finish(
          b!.uuid,
          { status: "Success", summary: { total: 1, fixable: 1, summary: { High: 1 } } },
          at(1),
        );
        expect(await store.scanReports.severityByProject([MIME])).toEqual({
          prod: { High: 1, Low: 2 },
          dev: { High: 2, Low: 2 },
        });
        expect(await store.scanReports.severityByProject([SBOM])).toEqual({});
      });

      it("deletes the ended reports of digests no repository holds", async () => {
        await store.projects.create({ name: "prod", ownerId: 1, metadata: {}, storageLimit: -1 }, at(0));
        await putManifest(store, "prod/web", "kept");
        const kept = await store.scanReports.begin(key("kept"), 1, at(0));
        const gone = await store.scanReports.begin(key("gone"), 1, at(0));
        const running = await store.scanReports.begin(key("running"), 1, at(0));
        for (const report of [kept, gone]) await store.scanReports.finish(report!.uuid, { status: "Success" }, at(1));
        expect(await store.scanReports.deleteOrphans(100)).toBe(1);
        expect(await store.scanReports.get(gone!.uuid)).toBeUndefined();
        expect(await store.scanReports.get(kept!.uuid)).toBeDefined();
        expect(await store.scanReports.get(running!.uuid)).toBeDefined();
      });
    });

    describe("CVE allowlists", () => {
      it("keeps the system's and each project's, replaced whole", async () => {
        expect(await store.cveAllowlists.get(0)).toBeUndefined();
        const system = await store.cveAllowlists.put(0, ["CVE-2024-0001"], undefined, at(0));
        expect(system).toMatchObject({ projectId: 0, items: ["CVE-2024-0001"], createdAt: at(0), updatedAt: at(0) });
        expect(system.expiresAt).toBeUndefined();
        const project = await store.cveAllowlists.put(4, ["CVE-2024-0002", "CVE-2024-0003"], at(86_400_000), at(10));
        expect(project).toMatchObject({ projectId: 4, expiresAt: at(86_400_000) });
        const replaced = await store.cveAllowlists.put(4, [], undefined, at(20));
        expect(replaced).toMatchObject({ id: project.id, items: [], createdAt: at(10), updatedAt: at(20) });
        expect(replaced.expiresAt).toBeUndefined();
        expect((await store.cveAllowlists.get(0))?.items).toEqual(["CVE-2024-0001"]);
        expect(await store.cveAllowlists.delete(4)).toBe(true);
        expect(await store.cveAllowlists.delete(4)).toBe(false);
        expect(await store.cveAllowlists.get(4)).toBeUndefined();
      });
    });
  });
}
