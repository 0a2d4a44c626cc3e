// The `storage` section of the server configuration: the filesystem when absent, `storage.s3`
// with its defaults, the AIRLOCK_S3_* overrides, files resolved against the configuration's
// directory, and a secret that no error message repeats.

import { describe, expect, it } from "vitest";
import { ConfigError, overridesFromEnvironment, parseFileConfig, resolveConfig } from "../../src/config.ts";

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const BASE = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };
const SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

function resolve(storage: unknown, env: NodeJS.ProcessEnv = {}) {
  return resolveConfig(
    parseFileConfig({ ...BASE, storage }, "test.yaml"),
    overridesFromEnvironment(env),
    "/etc/airlock",
  );
}

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("storage configuration", () => {
  it("keeps the filesystem under dataDir when there is no storage.s3", () => {
    expect(resolve(undefined).storage).toBeUndefined();
    expect(resolve({}).storage).toBeUndefined();
  });

  it("fills S3's defaults: us-east-1, no prefix, virtual-hosted addressing, 8 MiB parts, 3 in flight", () => {
    expect(resolve({ s3: { bucket: "blobs" } }).storage).toEqual({
      s3: {
        bucket: "blobs",
        region: "us-east-1",
        prefix: "",
        forcePathStyle: false,
        insecure: false,
        partBytes: 8 * 1024 * 1024,
        maxConcurrentParts: 3,
      },
    });
  });

  it("takes every setting, resolving the secret file and the CA against the configuration's directory", () => {
    const storage = resolve({
      s3: {
        bucket: "blobs",
        region: "eu-west-3",
        endpoint: "https://s3.corp.example:9000",
        prefix: "airlock/prod",
        forcePathStyle: true,
        accessKeyId: "AKIAEXAMPLE",
        secretAccessKeyFile: "secrets/s3",
        insecure: true,
        caFile: "/etc/ssl/corp-ca.pem",
        partSizeMiB: 16,
        maxConcurrentParts: 4,
      },
    }).storage;
    expect(storage?.s3).toEqual({
      bucket: "blobs",
      region: "eu-west-3",
      endpoint: "https://s3.corp.example:9000",
      prefix: "airlock/prod",
      forcePathStyle: true,
      accessKeyId: "AKIAEXAMPLE",
      secretAccessKeyFile: "/etc/airlock/secrets/s3",
      insecure: true,
      caFile: "/etc/ssl/corp-ca.pem",
      partBytes: 16 * 1024 * 1024,
      maxConcurrentParts: 4,
    });
  });

  it("lets AIRLOCK_S3_* override the file, and turn S3 on by the bucket alone", () => {
    const overridden = resolve(
      { s3: { bucket: "file-bucket", prefix: "file", accessKeyId: "FILEKEY", secretAccessKeyFile: "s" } },
      {
        AIRLOCK_S3_BUCKET: "env-bucket",
        AIRLOCK_S3_PREFIX: "env",
        AIRLOCK_S3_REGION: "eu-central-1",
        AIRLOCK_S3_ENDPOINT: "http://127.0.0.1:7070",
        AIRLOCK_S3_ACCESS_KEY_ID: "ENVKEY",
        AIRLOCK_S3_SECRET_ACCESS_KEY: SECRET,
      },
    ).storage?.s3;
    expect(overridden).toMatchObject({
      bucket: "env-bucket",
      prefix: "env",
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:7070",
      accessKeyId: "ENVKEY",
      secretAccessKey: SECRET,
    });
    // The secret from the environment replaces the file's secret file.
    expect(overridden?.secretAccessKeyFile).toBeUndefined();

    expect(resolve(undefined, { AIRLOCK_S3_BUCKET: "only-env" }).storage?.s3).toMatchObject({
      bucket: "only-env",
      region: "us-east-1",
    });
  });

  it("uses the AWS credential chain when no static credentials are given", () => {
    const s3 = resolve({ s3: { bucket: "blobs" } }).storage?.s3;
    expect(s3?.accessKeyId).toBeUndefined();
    expect(s3?.secretAccessKey).toBeUndefined();
    expect(s3?.secretAccessKeyFile).toBeUndefined();
  });

  it.each([
    [{ bucket: "b", accessKeyId: "AKIA" }, /storage\.s3\.accessKeyId: static credentials need both/],
    [{ bucket: "b", secretAccessKey: SECRET }, /storage\.s3\.accessKeyId: static credentials need both/],
    [
      { bucket: "b", accessKeyId: "AKIA", secretAccessKey: SECRET, secretAccessKeyFile: "f" },
      /storage\.s3\.secretAccessKeyFile: set secretAccessKey or secretAccessKeyFile, not both/,
    ],
    [{ bucket: "b", prefix: "/lead" }, /storage\.s3\.prefix/],
    [{ bucket: "b", prefix: "a/../b" }, /storage\.s3\.prefix/],
    [{ bucket: "b", endpoint: "ftp://host" }, /storage\.s3\.endpoint/],
    [{ bucket: "b", partSizeMiB: 4 }, /storage\.s3\.partSizeMiB/],
    [{ bucket: "b", forcePathStyle: "yes" }, /storage\.s3\.forcePathStyle/],
    [{ region: "us-east-1" }, /storage\.s3\.bucket/],
    [{ bucket: "b", sessionToken: "x" }, /storage\.s3: unknown key\(s\) sessionToken/],
  ])("refuses %j", (s3, message) => {
    expect(errorOf(() => resolve({ s3 }))).toMatch(message);
  });

  it("never repeats the secret in an error, even a mistyped one", () => {
    const messages = [
      errorOf(() => resolve({ s3: { bucket: "b", secretAccessKey: SECRET } })),
      errorOf(() =>
        resolve({ s3: { bucket: "b", accessKeyId: "A", secretAccessKey: SECRET, secretAccessKeyFile: "f" } }),
      ),
      errorOf(() => resolve({ s3: { bucket: "b", accessKeyId: "A", secretAccessKey: 12345678 } })),
      errorOf(() => resolve({ s3: { bucket: "!", accessKeyId: "A", secretAccessKey: SECRET } })),
    ];
    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain("12345678");
    }
    expect(messages[2]).toContain("storage.s3.secretAccessKey");
    expect(messages[2]).toContain("(hidden)");
  });
});
