// Picks and opens the blob storage the configuration asks for: an S3 bucket when `storage.s3` is
// set, otherwise the filesystem under dataDir. The rest of the registry sees a StorageDriver and a
// health check, whichever it is.

import { mkdir, readFile } from "node:fs/promises";
import * as path from "node:path";
import type { ServerConfig } from "../config.ts";
import type { HealthCheck } from "../health-check.ts";
import type { Logger } from "../logger.ts";
import { FilesystemDriver } from "./filesystem-driver.ts";
import { FilesystemSpace } from "./filesystem-space.ts";
import type { S3StorageConfig } from "./storage-config.ts";
import { StorageUnavailableError, type StorageDriver } from "./storage-driver.ts";

export interface OpenedStorage {
  readonly driver: StorageDriver;
  /** The "storage" component of /api/v2.0/health. */
  readonly healthCheck: HealthCheck;
  /** Releases connections; the driver is not used afterwards. */
  close(): Promise<void>;
}

/** How long the health check waits for the bucket's answer. */
const BUCKET_CHECK_TIMEOUT_MS = 5_000;

export async function openStorageDriver(config: ServerConfig, log: Logger): Promise<OpenedStorage> {
  if (config.storage) return openS3(config.storage.s3, log);
  const root = path.join(config.dataDir, "storage");
  await mkdir(root, { recursive: true, mode: 0o700 });
  // The data directory must be writable and have room: a write that found none says so.
  const space = await FilesystemSpace.open(config.dataDir, root);
  return {
    driver: new FilesystemDriver(root, { onFull: space.noteFull }),
    healthCheck: space.check,
    close: async () => undefined,
  };
}

async function openS3(s3: S3StorageConfig, log: Logger): Promise<OpenedStorage> {
  // Loaded here, not at start: a filesystem registry never uses them.
  const [{ S3Client }, { S3Driver }] = await Promise.all([import("./s3-client.ts"), import("./s3-driver.ts")]);
  const secretAccessKey =
    s3.secretAccessKeyFile === undefined
      ? s3.secretAccessKey
      : (await readText(s3.secretAccessKeyFile, "storage.s3.secretAccessKeyFile")).trim();
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint !== undefined && { endpoint: s3.endpoint }),
    forcePathStyle: s3.forcePathStyle,
    ...(s3.accessKeyId !== undefined &&
      secretAccessKey !== undefined && { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey } }),
    ...(s3.caFile !== undefined && { ca: await readText(s3.caFile, "storage.s3.caFile") }),
    insecure: s3.insecure,
  });
  const driver = new S3Driver({
    client,
    bucket: s3.bucket,
    prefix: s3.prefix,
    partBytes: s3.partBytes,
    maxConcurrentParts: s3.maxConcurrentParts,
    onAbortFailure: (key, uploadId, error) =>
      log.warn(
        { key, uploadId, err: { name: errorName(error), message: errorMessage(error) } },
        "could not abort a failed S3 multipart upload: its parts stay until the bucket's lifecycle rule removes them",
      ),
  });
  // Where, never with what credentials.
  log.info(
    {
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint ?? "aws",
      prefix: s3.prefix,
      credentials: s3.accessKeyId !== undefined ? "static" : "aws chain",
    },
    "blob storage: S3",
  );
  return {
    driver,
    healthCheck: async () => {
      const deadline = AbortSignal.timeout(BUCKET_CHECK_TIMEOUT_MS);
      try {
        await driver.checkBucket(deadline);
        return { name: "storage", status: "healthy" };
      } catch (error) {
        // How it is unavailable ("unreachable (ECONNREFUSED)"), or the refusal's name (NoSuchBucket).
        const reason = deadline.aborted
          ? `no answer within ${BUCKET_CHECK_TIMEOUT_MS} ms`
          : error instanceof StorageUnavailableError
            ? error.reason
            : errorName(error);
        return { name: "storage", status: "unhealthy", error: reason };
      }
    },
    close: async () => client.destroy(),
  };
}

async function readText(file: string, key: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${key} ${file}: ${errorMessage(error)}`, { cause: error });
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unavailable";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
