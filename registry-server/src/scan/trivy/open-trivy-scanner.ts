// Builds the built-in Trivy scanner from its configuration, for the composition root: the
// database read from a repository of this registry (through the content source, so a proxy-cache
// project fills it on demand) and extracted under the data directory, and a scratch directory
// for the scans, emptied of what an earlier run of the server left there.
//
//   <dataDir>/scan/trivy/<instance>/db/     the extracted databases (database-cache.ts)
//   <dataDir>/scan/trivy/<instance>/work/   one directory per running scan
//
// Each process serving the data directory (a worker) is an instance with a directory of its own:
// a scanner removes what it finds there at start, which must not be another worker's.

import { rm } from "node:fs/promises";
import * as path from "node:path";
import type { BlobStore } from "../../content/blob-store.ts";
import type { ContentSource } from "../../content/content-source.ts";
import type { Logger } from "../../logger.ts";
import { RegistryDatabaseSource } from "./database-artifact.ts";
import { TrivyDatabaseCache } from "./database-cache.ts";
import type { TrivyConfig } from "./trivy-config.ts";
import { TrivyScanner } from "./trivy-scanner.ts";

export interface TrivyScannerDependencies {
  /** This registry's content as the pull routes see it (the proxy cache's, so it fills on demand). */
  readonly content: ContentSource;
  readonly blobs: BlobStore;
  readonly dataDir: string;
  readonly log: Logger;
  /** The clock database ages are judged by (tests move it). */
  readonly now?: () => number;
  /** Where trivy's proxy points: any connection but the registry's ends there (tests count them). */
  readonly egressTrap?: string;
  /** This process among those sharing the data directory (the worker's slot); "main" when alone. */
  readonly instance?: string;
}

export async function openTrivyScanner(config: TrivyConfig, deps: TrivyScannerDependencies): Promise<TrivyScanner> {
  const instance = deps.instance ?? "main";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instance)) throw new Error(`invalid scanner instance name ${instance}`);
  const root = path.join(deps.dataDir, "scan", "trivy", instance);
  const workDir = path.join(root, "work");
  await rm(workDir, { recursive: true, force: true });
  const log = deps.log.child({ component: "trivy" });
  const database = new TrivyDatabaseCache(
    new RegistryDatabaseSource(deps, config.database.repository, config.database.reference),
    {
      root: path.join(root, "db"),
      maxBytes: config.maxDatabaseBytes,
      checkIntervalMs: config.databaseCheckIntervalMs,
      log,
      ...(deps.now && { now: deps.now }),
    },
  );
  return new TrivyScanner({
    binary: config.binary,
    database,
    workDir,
    scanTimeoutMs: config.scanTimeoutMs,
    concurrency: config.concurrency,
    maxDatabaseAgeMs: config.maxDatabaseAgeMs,
    ...(config.caFile !== undefined && { caFile: config.caFile }),
    log,
    ...(deps.now && { now: deps.now }),
    ...(deps.egressTrap !== undefined && { egressTrap: deps.egressTrap }),
  });
}
