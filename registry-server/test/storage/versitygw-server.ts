// A real S3 server for the tests: versitygw (built from its Go module by
// scripts/tools/go-tools.sh) with its posix backend, serving buckets from a directory of its own,
// with its own root credentials, on a free loopback port, optionally over TLS. Ready once the
// port answers HTTP; stopped with SIGTERM, then SIGKILL. The outage tests pause it (the process
// stops, its buckets stay) and resume it on the same port.

import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../helpers.ts";
import { freePort } from "../upstream/distribution-server.ts";

export const VERSITYGW_BINARY = path.resolve(import.meta.dirname, "../../../.tools/bin/versitygw");

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** A port taken between freePort() and the server's bind is retried this many times. */
const START_ATTEMPTS = 3;

export interface S3TestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The posix backend's directory: bucket "b" is <root>/b. */
  readonly root: string;
  /** A client with the root credentials, path-style (the server has no virtual-host names). */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Stops the process, keeping its buckets, port and credentials: S3 is down until resume(). */
  pause(): Promise<void>;
  /** Starts the process again after pause(), on the same port, serving the same buckets. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface VersitygwOptions {
  tls?: { certFile: string; keyFile: string };
  /** Also serve virtual-hosted requests, the bucket in the Host header: "<bucket>.<domain>". */
  virtualDomain?: string;
}

export async function startVersitygw(options: VersitygwOptions = {}): Promise<S3TestServer> {
  if (!existsSync(VERSITYGW_BINARY)) {
    throw new Error(`${VERSITYGW_BINARY} is missing: run scripts/tools/go-tools.sh versitygw (scripts/test.sh does)`);
  }
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw lastError ?? new Error("versitygw did not start");
}

async function startOnce(options: VersitygwOptions): Promise<S3TestServer> {
  const work = tempDir("versitygw");
  const root = path.join(work.dir, "buckets");
  mkdirSync(root);
  const accessKeyId = `test-${randomBytes(4).toString("hex")}`;
  const secretAccessKey = randomBytes(20).toString("hex");
  const region = "us-east-1";
  const port = await freePort();
  const args = ["--port", `127.0.0.1:${port}`, "--region", region, "--quiet"];
  if (options.tls) args.push("--cert", options.tls.certFile, "--key", options.tls.keyFile);
  if (options.virtualDomain !== undefined) args.push("--virtual-domain", options.virtualDomain);
  args.push("posix", root);
  const logFile = path.join(work.dir, "versitygw.log");
  const launch = (): { kill: () => Promise<void>; ended: () => boolean } => {
    const fd = openSync(logFile, "a");
    // The credentials go through the environment, not the command line other users can read.
    const child = spawn(VERSITYGW_BINARY, args, {
      stdio: ["ignore", fd, fd],
      env: {
        PATH: process.env["PATH"] ?? "",
        ROOT_ACCESS_KEY_ID: accessKeyId,
        ROOT_SECRET_ACCESS_KEY: secretAccessKey,
      },
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
    const kill = async (): Promise<void> => {
      if (ended()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    };
    return { kill, ended };
  };
  let running = launch();
  const kill = (): Promise<void> => running.kill();
  const endpoint = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const ca = options.tls ? readFileSync(options.tls.certFile, "utf8") : undefined;
  /** Waits until the endpoint answers; false when the process ended or the time ran out. */
  const ready = async (): Promise<boolean> => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    // Bounded by the deadline and the count: at most START_TIMEOUT_MS / 50 rounds.
    for (let round = 0; round < START_TIMEOUT_MS / 50 && Date.now() < deadline; round++) {
      if (running.ended()) return false;
      if (await answers(endpoint, ca)) return true;
      await sleep(50);
    }
    return false;
  };
  if (!(await ready())) {
    await kill();
    const log = readFileSync(logFile, "utf8");
    work.remove();
    throw new Error(`versitygw did not start on port ${port}:\n${log}`);
  }
  const clients: S3Client[] = [];
  const client = (): S3Client => {
    const made = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      ...(ca !== undefined && { requestHandler: { httpsAgent: new https.Agent({ ca }) } }),
    });
    clients.push(made);
    return made;
  };
  const admin = client();
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    root,
    client,
    createBucket: async (name) => {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    pause: kill,
    resume: async () => {
      if (!running.ended()) return;
      running = launch();
      if (!(await ready())) {
        await kill();
        throw new Error(`versitygw did not start again on port ${port}:\n${readFileSync(logFile, "utf8")}`);
      }
    },
    stop: async () => {
      for (const made of clients) made.destroy();
      await kill();
      work.remove();
    },
  };
}

/** Whether anything HTTP answers at the endpoint (an unauthenticated request gets a 403). */
function answers(endpoint: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL(endpoint);
    const request = (url.protocol === "https:" ? https : http).get(
      url,
      { agent: false, timeout: 1_000, ...(ca !== undefined && { ca }) },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });
}
