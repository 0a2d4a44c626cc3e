// Content and accounts for the project pages' browser tests, made the way users make them:
// projects, users and members through Harbor's API with Basic auth, images pushed through /v2
// (a real client, skopeo, for the one whose figures a test reads; the OCI API directly where a
// test needs many small repositories fast).

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { ADMIN, tempDir } from "../helpers.ts";
import { writeMultiPlatformLayout } from "../clients/oci-layout.ts";
import type { PortalHarness } from "./portal-browser.ts";

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

type Credentials = { username: string; password: string };

/** One HTTPS request to the portal's registry, trusting its certificate, with Basic auth. */
export function call(
  portal: PortalHarness,
  method: string,
  pathname: string,
  options: { body?: Buffer | string; json?: unknown; contentType?: string; auth?: Credentials | null } = {},
): Promise<Reply> {
  const auth = options.auth === undefined ? ADMIN : options.auth;
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
  const headers: Record<string, string> = {};
  if (auth) headers["Authorization"] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  if (body !== undefined) {
    headers["Content-Type"] =
      options.json !== undefined ? "application/json" : (options.contentType ?? "application/octet-stream");
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(pathname, portal.url),
      { method, headers, ca: portal.ca, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

async function expectStatus(reply: Promise<Reply>, status: number, what: string): Promise<Reply> {
  const got = await reply;
  if (got.status !== status) throw new Error(`${what}: ${got.status} ${got.body}`);
  return got;
}

/** Creates a project through the API; its id. */
export async function createProject(portal: PortalHarness, name: string, isPublic = false): Promise<number> {
  const reply = await expectStatus(
    call(portal, "POST", "/api/v2.0/projects", {
      json: { project_name: name, metadata: { public: String(isPublic) } },
    }),
    201,
    `creating project ${name}`,
  );
  return Number(String(reply.headers["location"]).split("/").pop());
}

/** Creates a local user through the API (the administrator's). */
export async function createUser(portal: PortalHarness, username: string, password: string): Promise<void> {
  await expectStatus(
    call(portal, "POST", "/api/v2.0/users", {
      json: { username, password, email: `${username}@example.test`, realname: username, comment: "" },
    }),
    201,
    `creating user ${username}`,
  );
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A one-layer image pushed through the OCI API (monolithic blob uploads, then the manifest). */
export async function pushTinyImage(portal: PortalHarness, repository: string, tag: string): Promise<void> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const layer = Buffer.from(`layer of ${repository}`);
  for (const blob of [config, layer]) {
    await expectStatus(
      call(portal, "POST", `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob }),
      201,
      `pushing a blob to ${repository}`,
    );
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
  });
  await expectStatus(
    call(portal, "PUT", `/v2/${repository}/manifests/${tag}`, {
      body: manifest,
      contentType: "application/vnd.oci.image.manifest.v1+json",
    }),
    201,
    `pushing the manifest of ${repository}:${tag}`,
  );
}

/** Copies a small two-platform image into `repository:tag` with skopeo, as a user would push one. */
export async function skopeoPush(portal: PortalHarness, repository: string, tag: string): Promise<void> {
  const work = tempDir("portal-skopeo");
  try {
    const certDir = path.join(work.dir, "certs");
    mkdirSync(certDir);
    writeFileSync(path.join(certDir, "ca.crt"), portal.ca);
    writeMultiPlatformLayout(path.join(work.dir, "layout"), tag);
    const host = `localhost:${new URL(portal.url).port}`;
    const args = ["copy", "--all", "--dest-cert-dir", certDir, "--dest-creds", `${ADMIN.username}:${ADMIN.password}`];
    args.push(`oci:${path.join(work.dir, "layout")}:${tag}`, `docker://${host}/${repository}:${tag}`);
    // Asynchronous: the registry answering skopeo runs in this process's event loop.
    const outcome = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn("skopeo", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, output }));
    });
    if (outcome.status !== 0) throw new Error(`skopeo copy exited with ${outcome.status}: ${outcome.output}`);
  } finally {
    work.remove();
  }
}
