// Shared by the robot and policy pages' browser tests: Harbor's API over the portal's TLS with
// its CA (Basic auth, JSON bodies), and skopeo logging in and pushing with credentials and
// certificates kept in the test's own directory.

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { writeMultiPlatformLayout } from "../clients/oci-layout.ts";
import { ADMIN, tempDir } from "../helpers.ts";
import type { PortalHarness } from "./portal-browser.ts";

const COMMAND_TIMEOUT_MS = 60_000;

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface JsonReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly json: unknown;
}

/** A call to /api/v2.0 as `auth` (the administrator by default), bounded in time. */
export function api(
  portal: Pick<PortalHarness, "url" | "ca">,
  method: string,
  apiPath: string,
  body?: unknown,
  auth: Credentials = ADMIN,
): Promise<JsonReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${portal.url}/api/v2.0${apiPath}`,
      {
        method,
        ca: portal.ca,
        agent: false,
        timeout: 10_000,
        headers: {
          Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
          ...(payload !== undefined && { "Content-Type": "application/json" }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A project (private unless told) made by the administrator; its id. */
export async function createProject(portal: PortalHarness, name: string): Promise<number> {
  const created = await api(portal, "POST", "/projects", { project_name: name, metadata: { public: "false" } });
  if (created.status !== 201) throw new Error(`project ${name}: ${created.status} ${created.body}`);
  return Number(String(created.headers["location"]).split("/").pop());
}

/** A local user with a role in a project. */
export async function createMember(portal: PortalHarness, project: string, user: Credentials, roleId: number) {
  const made = await api(portal, "POST", "/users", {
    username: user.username,
    password: user.password,
    email: `${user.username}@example.com`,
    realname: user.username,
  });
  if (made.status !== 201) throw new Error(`user ${user.username}: ${made.status} ${made.body}`);
  const member = await api(portal, "POST", `/projects/${project}/members`, {
    role_id: roleId,
    member_user: { username: user.username },
  });
  if (member.status !== 201) throw new Error(`member ${user.username}: ${member.status} ${member.body}`);
}

export interface Run {
  readonly status: number | null;
  readonly output: string;
}

/**
 * skopeo against the portal's registry: its CA in a cert dir, its logins in an auth file of its
 * own, two OCI layouts to push (one multi-platform image, and another to move a tag with).
 */
export function skopeoFor(portal: Pick<PortalHarness, "url" | "ca">) {
  const work = tempDir("portal-skopeo");
  const certDir = path.join(work.dir, "certs");
  mkdirSync(certDir);
  writeFileSync(path.join(certDir, "ca.crt"), portal.ca);
  writeMultiPlatformLayout(path.join(work.dir, "first"), "1.0");
  writeMultiPlatformLayout(path.join(work.dir, "second"), "1.0", ["amd64"]);
  const host = new URL(portal.url).host;
  const env = { PATH: process.env["PATH"], HOME: work.dir, REGISTRY_AUTH_FILE: path.join(work.dir, "auth.json") };

  function run(args: string[], input = ""): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn("skopeo", args, { env, stdio: ["pipe", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, output }));
      child.stdin.end(input);
    });
  }

  return {
    host,
    /** skopeo login with a password on stdin, as a pipeline would. */
    login: (user: Credentials) =>
      run(["login", "--cert-dir", certDir, "--username", user.username, "--password-stdin", host], user.password),
    logout: () => run(["logout", "--all"]),
    /** Pushes the first (or second) layout's image to `destination` (repository:tag in the registry). */
    push: (destination: string, layout: "first" | "second" = "first") =>
      run([
        "copy",
        "--all",
        "--dest-cert-dir",
        certDir,
        `oci:${path.join(work.dir, layout)}:1.0`,
        `docker://${host}/${destination}`,
      ]),
    remove: work.remove,
  };
}
