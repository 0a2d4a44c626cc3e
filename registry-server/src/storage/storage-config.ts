// The `storage` section of the server configuration: where blobs live. Absent, they live on the
// filesystem under dataDir; `storage.s3` puts them in an S3 bucket (AWS or a compatible server).
// config.ts includes this schema and these environment overrides; they live here beside the
// driver they configure.

import { z } from "zod";

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MiB = 1024 * 1024;

const s3Schema = z
  .strictObject({
    bucket: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/, "expected a bucket name"),
    /** AWS's region, or whatever name an S3-compatible server expects in signatures. */
    region: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "expected a region name")
      .default("us-east-1"),
    /** An S3-compatible server ("https://s3.corp.example:9000"); AWS's endpoints when absent. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** Keys start with "<prefix>/", so that a bucket can hold more than this registry. */
    prefix: z
      .string()
      .refine(
        (prefix) => prefix === "" || prefix.split("/").every((s) => SEGMENT.test(s) && s !== "." && s !== ".."),
        'expected "" or "/"-separated segments of [A-Za-z0-9._-]',
      )
      .default(""),
    /** "https://host/bucket/key" instead of "https://bucket.host/key": most servers on premises want it. */
    forcePathStyle: z.boolean().default(false),
    /** Static credentials; without them, the AWS chain (AWS_* variables, profiles, web identity, ECS, EC2). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    /** A file holding the secret access key (a mounted Secret), instead of secretAccessKey. */
    secretAccessKeyFile: z.string().min(1).optional(),
    /** Accept any TLS certificate from the endpoint: for a test installation only. */
    insecure: z.boolean().default(false),
    /** PEM file of a private CA trusted for the endpoint (besides the system's). */
    caFile: z.string().min(1).optional(),
    /** Multipart part size: memory per blob write is about (maxConcurrentParts + 1) parts. */
    partSizeMiB: z.number().int().min(5).max(1024).default(8),
    /** Parts of one blob write sent at once. */
    maxConcurrentParts: z.number().int().min(1).max(32).default(3),
  })
  // Issues name a key whose value may be printed: never the secret's.
  .refine((s3) => s3.secretAccessKey === undefined || s3.secretAccessKeyFile === undefined, {
    message: "set secretAccessKey or secretAccessKeyFile, not both",
    path: ["secretAccessKeyFile"],
  })
  .refine((s3) => (s3.accessKeyId === undefined) === ((s3.secretAccessKey ?? s3.secretAccessKeyFile) === undefined), {
    message: "static credentials need both accessKeyId and secretAccessKey (or secretAccessKeyFile)",
    path: ["accessKeyId"],
  });

export const storageConfigSchema = z.strictObject({ s3: s3Schema.optional() }).prefault({});

export type FileStorageConfig = z.infer<typeof storageConfigSchema>;

export interface S3StorageConfig {
  bucket: string;
  region: string;
  endpoint?: string;
  /** "" or "/"-separated segments, no slash at either end. */
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Absolute; read when the server starts. */
  secretAccessKeyFile?: string;
  insecure: boolean;
  /** Absolute; read when the server starts. */
  caFile?: string;
  partBytes: number;
  maxConcurrentParts: number;
}

/** Absent: the filesystem under dataDir. */
export interface StorageConfig {
  s3: S3StorageConfig;
}

/** Environment overrides of `storage.s3` (the booleans and sizes are set in the file only). */
export interface StorageOverrides {
  s3Bucket?: string;
  s3Region?: string;
  s3Endpoint?: string;
  s3Prefix?: string;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
}

export const STORAGE_ENVIRONMENT: Record<string, keyof StorageOverrides> = {
  AIRLOCK_S3_BUCKET: "s3Bucket",
  AIRLOCK_S3_REGION: "s3Region",
  AIRLOCK_S3_ENDPOINT: "s3Endpoint",
  AIRLOCK_S3_PREFIX: "s3Prefix",
  AIRLOCK_S3_ACCESS_KEY_ID: "s3AccessKeyId",
  AIRLOCK_S3_SECRET_ACCESS_KEY: "s3SecretAccessKey",
};

/**
 * The file's storage section with the overrides applied, still to be validated. A bucket given
 * by override alone turns S3 on; a secret given by override replaces the file's secret file.
 */
export function withStorageOverrides(file: FileStorageConfig, overrides: StorageOverrides): unknown {
  const given = {
    ...(overrides.s3Bucket !== undefined && { bucket: overrides.s3Bucket }),
    ...(overrides.s3Region !== undefined && { region: overrides.s3Region }),
    ...(overrides.s3Endpoint !== undefined && { endpoint: overrides.s3Endpoint }),
    ...(overrides.s3Prefix !== undefined && { prefix: overrides.s3Prefix }),
    ...(overrides.s3AccessKeyId !== undefined && { accessKeyId: overrides.s3AccessKeyId }),
    ...(overrides.s3SecretAccessKey !== undefined && { secretAccessKey: overrides.s3SecretAccessKey }),
  };
  if (!file.s3 && Object.keys(given).length === 0) return file;
  const { secretAccessKeyFile, ...rest } = file.s3 ?? {};
  return {
    ...file,
    s3: {
      ...rest,
      ...(secretAccessKeyFile !== undefined && overrides.s3SecretAccessKey === undefined && { secretAccessKeyFile }),
      ...given,
    },
  };
}

/** The validated `storage.s3` as the server uses it; relative files are resolved with `resolve`. */
export function resolveStorage(
  s3: NonNullable<FileStorageConfig["s3"]>,
  resolve: (file: string) => string,
): StorageConfig {
  return {
    s3: {
      bucket: s3.bucket,
      region: s3.region,
      ...(s3.endpoint !== undefined && { endpoint: s3.endpoint }),
      prefix: s3.prefix,
      forcePathStyle: s3.forcePathStyle,
      ...(s3.accessKeyId !== undefined && { accessKeyId: s3.accessKeyId }),
      ...(s3.secretAccessKey !== undefined && { secretAccessKey: s3.secretAccessKey }),
      ...(s3.secretAccessKeyFile !== undefined && { secretAccessKeyFile: resolve(s3.secretAccessKeyFile) }),
      insecure: s3.insecure,
      ...(s3.caFile !== undefined && { caFile: resolve(s3.caFile) }),
      partBytes: s3.partSizeMiB * MiB,
      maxConcurrentParts: s3.maxConcurrentParts,
    },
  };
}
