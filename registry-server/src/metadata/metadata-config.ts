// The `metadata` section of the server configuration: where the registry's metadata lives.
// Absent, in SQLite under dataDir (one replica); `metadata.postgres` puts it in a PostgreSQL
// database that several replicas share. config.ts includes this schema and this environment
// override; they live here beside the store they configure.

import { z } from "zod";

function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function isPostgresUrl(url: string): boolean {
  const parsed = parsedUrl(url);
  return (parsed?.protocol === "postgres:" || parsed?.protocol === "postgresql:") && parsed.hostname !== "";
}

const postgresSchema = z
  .strictObject({
    /** "postgres://user@host:5432/database?sslmode=verify-full"; the password may be in it. */
    url: z.string().refine(isPostgresUrl, "expected a postgres:// or postgresql:// URL with a host"),
    /** A file holding the password (a mounted Secret), instead of a password in the URL. */
    passwordFile: z.string().min(1).optional(),
    /** Connections per replica at most: one writes, the others read. */
    maxConnections: z.number().int().min(2).max(1000).default(10),
  })
  // The issue names passwordFile, whose value config.ts never prints, not the URL.
  .refine((postgres) => postgres.passwordFile === undefined || parsedUrl(postgres.url)?.password === "", {
    message: "set the password in the URL or in passwordFile, not both",
    path: ["passwordFile"],
  });

export const metadataConfigSchema = z.strictObject({ postgres: postgresSchema.optional() }).prefault({});

export type FileMetadataConfig = z.infer<typeof metadataConfigSchema>;

export interface PostgresMetadataConfig {
  /** May carry the password: never logged (see redactedUrl in postgres/connection.ts). */
  url: string;
  /** Absolute; read when the server starts. */
  passwordFile?: string;
  maxConnections: number;
}

/** Absent: SQLite under dataDir. */
export interface MetadataConfig {
  postgres: PostgresMetadataConfig;
}

/** Environment overrides of `metadata.postgres`. */
export interface MetadataOverrides {
  databaseUrl?: string;
}

export const METADATA_ENVIRONMENT: Record<string, keyof MetadataOverrides> = {
  AIRLOCK_DATABASE_URL: "databaseUrl",
};

/**
 * The file's metadata section with the overrides applied, still to be validated. A URL given by
 * override alone turns PostgreSQL on; it replaces the file's URL and keeps its other settings.
 */
export function withMetadataOverrides(file: FileMetadataConfig, overrides: MetadataOverrides): unknown {
  if (overrides.databaseUrl === undefined) return file;
  return { ...file, postgres: { ...file.postgres, url: overrides.databaseUrl } };
}

/** The validated `metadata.postgres` as the server uses it; a relative file is resolved with `resolve`. */
export function resolveMetadata(
  postgres: NonNullable<FileMetadataConfig["postgres"]>,
  resolve: (file: string) => string,
): MetadataConfig {
  return {
    postgres: {
      url: postgres.url,
      ...(postgres.passwordFile !== undefined && { passwordFile: resolve(postgres.passwordFile) }),
      maxConnections: postgres.maxConnections,
    },
  };
}
