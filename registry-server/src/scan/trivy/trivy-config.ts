// The `scanner.trivy` section of the server configuration: the built-in Trivy scanner. Absent, the
// server has no built-in scanner. config.ts includes this schema; it lives here beside the scanner
// it configures.

import { z } from "zod";

/** "project/repository:tag" or "project/repository@sha256:…", a repository of this registry. */
const DATABASE_REFERENCE =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})$/;

export const trivyConfigSchema = z.strictObject({
  /** The trivy executable: a path, or a name looked up on PATH. */
  binary: z.string().min(1).default("trivy"),
  /**
   * Where the vulnerability database is read from: a repository of this registry holding Trivy's
   * database artifact (`trivy-db/aquasecurity/trivy-db:2` through a proxy-cache project of ghcr.io,
   * or one filled by an air-gap import).
   */
  databaseRepository: z.string().regex(DATABASE_REFERENCE, 'expected "project/repository:tag" or "…@sha256:…"'),
  /** How often the repository's tag is looked at again for a newer database. */
  databaseCheckIntervalSeconds: z.number().int().min(0).max(86_400).default(300),
  /** A database older than this (its UpdatedAt) is reported as out of date. */
  maxDatabaseAgeDays: z.number().min(0.001).max(3650).default(7),
  /** Largest database accepted, once decompressed (the public one is about 1 GB). */
  maxDatabaseBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(64 * 1024 ** 3)
    .default(8 * 1024 ** 3),
  /** One trivy run (pull, analysis, report) is stopped after this long. */
  scanTimeoutSeconds: z.number().int().min(1).max(86_400).default(600),
  /** Trivy processes running at once; the others wait their turn. */
  concurrency: z.number().int().min(1).max(64).default(2),
  /**
   * CA certificates (PEM) trivy trusts when it pulls from this registry over TLS: the registry's
   * own CA. The system's when absent.
   */
  caFile: z.string().min(1).optional(),
});

export type FileTrivyConfig = z.infer<typeof trivyConfigSchema>;

export interface TrivyConfig {
  readonly binary: string;
  /** The repository of this registry and the tag or digest of the database artifact. */
  readonly database: { readonly repository: string; readonly reference: string };
  readonly databaseCheckIntervalMs: number;
  readonly maxDatabaseAgeMs: number;
  readonly maxDatabaseBytes: number;
  readonly scanTimeoutMs: number;
  readonly concurrency: number;
  /** Absolute. */
  readonly caFile?: string;
}

/** Splits "project/repository:tag" (or "@digest") into repository and reference. */
export function parseDatabaseReference(text: string): { repository: string; reference: string } {
  const at = text.indexOf("@");
  if (at >= 0) return { repository: text.slice(0, at), reference: text.slice(at + 1) };
  const colon = text.lastIndexOf(":");
  return { repository: text.slice(0, colon), reference: text.slice(colon + 1) };
}

/** The validated section as the scanner uses it; a relative file is resolved with `resolve`. */
export function resolveTrivyConfig(file: FileTrivyConfig, resolve: (file: string) => string): TrivyConfig {
  // A path with a slash is a file; a bare name is looked up on PATH when trivy is started.
  const binary = file.binary.includes("/") ? resolve(file.binary) : file.binary;
  return {
    binary,
    database: parseDatabaseReference(file.databaseRepository),
    databaseCheckIntervalMs: file.databaseCheckIntervalSeconds * 1000,
    maxDatabaseAgeMs: file.maxDatabaseAgeDays * 86_400_000,
    maxDatabaseBytes: file.maxDatabaseBytes,
    scanTimeoutMs: file.scanTimeoutSeconds * 1000,
    concurrency: file.concurrency,
    ...(file.caFile !== undefined && { caFile: resolve(file.caFile) }),
  };
}
