// A registry in this process with the built-in Trivy scanner configured, its vulnerability database
// (written by the test with Trivy's own database package) pushed into it, and the vulnerable test
// image: what the SBOM and scan-metrics tests drive through the API as Harbor's clients do.

import * as path from "node:path";
import { resolveTrivyConfig, trivyConfigSchema } from "../../src/scan/trivy/trivy-config.ts";
import { HarborClient, type ApiReply } from "../api/harbor-client.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import {
  databaseLayer,
  imageLayer,
  pushDatabase,
  pushImage,
  TRIVY,
  writeTrivyDatabase,
  type DatabaseDescription,
  type VulnerableImage,
} from "./trivy-fixture.ts";

export const DAY_MS = 86_400_000;
/** How long one scan of the small test image may take on a busy machine. */
export const SCAN_WAIT_MS = 120_000;
export const BUSYBOX_CVE = "CVE-2099-1001";
export const LODASH_GHSA = "GHSA-2099-abcd-wxyz";

/** busybox High, lodash Critical; updated `ageDays` ago. */
export function database(now: number, ageDays: number): DatabaseDescription {
  return {
    updatedAt: new Date(now - ageDays * DAY_MS),
    nextUpdate: new Date(now - ageDays * DAY_MS + DAY_MS),
    advisories: [
      { os: "alpine", release: "3.20", package: "busybox", id: BUSYBOX_CVE, fixedVersion: "1.36.1-r30" },
      {
        lang: "npm",
        package: "lodash",
        id: LODASH_GHSA,
        vulnerableVersions: ["<4.17.21"],
        patchedVersions: ["4.17.21"],
      },
    ],
    vulnerabilities: [
      { id: BUSYBOX_CVE, description: "An overflow the tests made up.", vendorSeverity: { nvd: "HIGH" } },
      { id: LODASH_GHSA, description: "A pollution the tests made up.", vendorSeverity: { ghsa: "CRITICAL" } },
    ],
  };
}

/** The test image's layer: busybox, musl and lodash. */
export function appLayer(): Buffer {
  return imageLayer(
    [
      { name: "busybox", version: "1.36.1-r28" },
      { name: "musl", version: "1.2.5-r1" },
    ],
    { lodash: "4.17.20" },
  );
}

export interface ScanningRegistry {
  readonly registry: TestRegistry;
  readonly harbor: HarborClient;
  readonly oci: OciClient;
  /** The database's update time. */
  readonly databaseUpdatedAt: Date;
  pushApp(repository: string, tag: string): Promise<VulnerableImage>;
  close(): Promise<void>;
}

/** Starts the registry (Trivy's database `ageDays` old, 7 days allowed) and pushes the database. */
export async function startScanningRegistry(now: number, ageDays: number): Promise<ScanningRegistry> {
  const fixtures = tempDir("trivy-fixtures");
  const registry = await startTestRegistry({
    scanner: {
      trivy: resolveTrivyConfig(
        trivyConfigSchema.parse({
          binary: TRIVY,
          databaseRepository: "trivy-db/trivy-db:2",
          databaseCheckIntervalSeconds: 0,
          maxDatabaseAgeDays: 7,
        }),
        (file) => file,
      ),
      scanTimeoutSeconds: 300,
      maxDatabaseAgeDays: 7,
    },
  });
  const harbor = new HarborClient(registry.url);
  const oci = new OciClient(registry.url);
  await harbor.createProject("trivy-db", false);
  const description = database(now, ageDays);
  await writeTrivyDatabase(description, path.join(fixtures.dir));
  await pushDatabase(oci, "trivy-db/trivy-db", "2", databaseLayer(fixtures.dir));
  return {
    registry,
    harbor,
    oci,
    databaseUpdatedAt: description.updatedAt,
    pushApp: (repository, tag) => pushImage(oci, repository, tag, appLayer()),
    close: async () => {
      await registry.stop();
      fixtures.remove();
    },
  };
}

/** GETs `path` until `done` holds of the reply, within `waitMs`; the last reply. */
export async function pollUntil(
  harbor: HarborClient,
  path: string,
  done: (reply: ApiReply) => boolean,
  waitMs = SCAN_WAIT_MS,
): Promise<ApiReply> {
  const deadline = Date.now() + waitMs;
  let reply = await harbor.get(path);
  for (let attempt = 0; attempt < 2_000 && !done(reply) && Date.now() < deadline; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    reply = await harbor.get(path);
  }
  if (!done(reply)) throw new Error(`${path} not done after ${waitMs} ms: ${reply.status} ${reply.text}`);
  return reply;
}
