// The S3 server of the replicas' column: versitygw with its posix backend (the same one the S3
// driver's tests use, built by scripts/tools/go-tools.sh), serving one bucket from a directory of
// the run's temporary directory, on a free loopback port, with credentials of its own (given
// through the environment, not the command line), over TLS when asked (a certificate made for
// the run, its CA handed to the clients), as S3 is reached in production. Ready once the port
// answers.

import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { freePort, launch, logTail, stopper } from "./servers.ts";

const START_TIMEOUT_MS = 15_000;

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** The PEM file of the certificate the server presents, when it serves over TLS. */
  caFile?: string;
  pid: number;
  logFile: string;
  stop: () => Promise<void>;
}

/** The `storage` lines of a server's configuration file that keep its blobs in `s3`'s bucket. */
export function s3StorageLines(s3: S3Server): string[] {
  return [
    "storage:",
    "  s3:",
    `    bucket: ${s3.bucket}`,
    `    endpoint: ${JSON.stringify(s3.endpoint)}`,
    `    region: ${s3.region}`,
    "    forcePathStyle: true",
    `    accessKeyId: ${JSON.stringify(s3.accessKeyId)}`,
    `    secretAccessKey: ${JSON.stringify(s3.secretAccessKey)}`,
    ...(s3.caFile !== undefined ? [`    caFile: ${JSON.stringify(s3.caFile)}`] : []),
  ];
}

export function versitygwBinary(repoRoot: string): string {
  return path.join(repoRoot, ".tools", "bin", "versitygw");
}

function answers(endpoint: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const get = ca === undefined ? http.get : https.get;
    const request = get(endpoint, { agent: false, timeout: 1_000, ...(ca !== undefined && { ca }) }, (res) => {
      res.resume();
      resolve(true);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });
}

/** A self-signed certificate for 127.0.0.1, valid for a day. */
function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, "tls.crt");
  const keyFile = path.join(dir, "tls.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
      .concat(["-keyout", keyFile, "-out", certFile]),
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}

export async function startS3Server(
  repoRoot: string,
  dir: string,
  bucket: string,
  options: { tls?: boolean } = {},
): Promise<S3Server> {
  const root = path.join(dir, "buckets");
  mkdirSync(root, { recursive: true });
  const tls = options.tls ? makeCertificate(dir) : undefined;
  const ca = tls && readFileSync(tls.certFile, "utf8");
  const accessKeyId = `bench-${randomBytes(4).toString("hex")}`;
  const secretAccessKey = randomBytes(20).toString("hex");
  const region = "us-east-1";
  const port = await freePort();
  const logFile = path.join(dir, "versitygw.log");
  const child = launch(
    versitygwBinary(repoRoot),
    ["--port", `127.0.0.1:${port}`, "--region", region, "--quiet"]
      .concat(tls ? ["--cert", tls.certFile, "--key", tls.keyFile] : [])
      .concat(["posix", root]),
    logFile,
    dir,
    { ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
  );
  const stop = stopper(child);
  const endpoint = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(endpoint, ca))) {
    if (child.exitCode !== null || Date.now() >= deadline) {
      await stop();
      throw new Error(`versitygw did not start on port ${port}:\n${logTail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    ...(ca !== undefined && { requestHandler: { httpsAgent: new https.Agent({ ca }) } }),
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    bucket,
    ...(tls && { caFile: tls.certFile }),
    pid: child.pid ?? 0,
    logFile,
    stop,
  };
}
