// Talking to a registry from the end-to-end tests: its HTTP APIs as the admin, a small image
// pushed through the OCI API, and skopeo run with the test's own home directory.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { PROJECT_ROOT, freePort } from "./harness";

/** The admin password the end-to-end stacks set. */
export const ADMIN_PASSWORD = "E2e-admin-password-1";

export interface Endpoint {
  url: string;
  host: string;
  ca: string;
  certDir: string;
}

/**
 * Calls a registry over HTTPS trusting the stack's CA (undici's fetch takes no CA option), or
 * over plain HTTP on loopback when the URL says so; as the admin unless told otherwise.
 */
export async function call(
  endpoint: Endpoint,
  method: string,
  pathname: string,
  init: { body?: unknown; raw?: Buffer; contentType?: string; user?: string; password?: string } = {},
): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const client = endpoint.url.startsWith("https:") ? await import("node:https") : await import("node:http");
  const payload = init.raw ?? (init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body)));
  const auth = Buffer.from(`${init.user ?? "admin"}:${init.password ?? ADMIN_PASSWORD}`).toString("base64");
  return new Promise((resolve, reject) => {
    const req = client.request(
      `${endpoint.url}${pathname}`,
      {
        method,
        ...(endpoint.ca !== "" && { ca: endpoint.ca }),
        agent: false,
        timeout: 30_000,
        headers: {
          Authorization: `Basic ${auth}`,
          ...(payload && { "Content-Type": init.contentType ?? "application/json", "Content-Length": payload.length }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = text;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Pushes a one-layer image as the admin, through the OCI API; `layerText` makes a distinct image. */
export async function pushImage(
  endpoint: Endpoint,
  repository: string,
  tag: string,
  layerText = "e2e layer",
): Promise<void> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const layer = Buffer.from(layerText);
  for (const blob of [config, layer]) {
    const reply = await call(endpoint, "POST", `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, {
      raw: blob,
      contentType: "application/octet-stream",
    });
    expect(reply.status).toBe(201);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
    }),
  );
  const reply = await call(endpoint, "PUT", `/v2/${repository}/manifests/${tag}`, {
    raw: manifest,
    contentType: "application/vnd.oci.image.manifest.v1+json",
  });
  expect(reply.status).toBe(201);
}

export function skopeo(args: string[], workDir: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("skopeo", args, {
      env: { PATH: process.env["PATH"], HOME: workDir, REGISTRY_AUTH_FILE: path.join(workDir, "auth.json") },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

export interface RegistryProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port> */
  host: string;
  stop(): Promise<void>;
}

/** The registry as a plain process on loopback (plain HTTP is allowed there), ready to serve. */
export async function startRegistryProcess(dataDir: string): Promise<RegistryProcess> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  mkdirSync(dataDir, { recursive: true });
  const passwordFile = path.join(dataDir, "..", `${path.basename(dataDir)}-admin-password`);
  writeFileSync(passwordFile, ADMIN_PASSWORD);
  const server = spawn(
    process.execPath,
    [
      path.join(PROJECT_ROOT, "registry-server", "src", "main.ts"),
      "serve",
      ...["--addr", host, "--data-dir", dataDir, "--admin-password-file", passwordFile, "--log-level", "warn"],
    ],
    { stdio: "ignore", env: { PATH: process.env["PATH"] } },
  );
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(`${url}/v2/`).then(
      (reply) => reply.status,
      () => 0,
    );
    if (status === 401) return { url, host, stop };
    if (Date.now() > deadline || server.exitCode !== null) {
      await stop();
      throw new Error(`the registry did not start (${status})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
