// Shared by the air-gap bundle tests: registries over TLS on loopback (one certificate for
// localhost, trusted through a cert dir for skopeo and a CA file for our command line), the
// command line run as a real process, skopeo, and a small management API client over undici.

import { spawn } from "node:child_process";
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Agent, request } from "undici";
import { expect } from "vitest";
import { ADMIN, selfSignedCertificate, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");
const COMMAND_TIMEOUT_MS = 120_000;

export interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs a command without blocking the event loop, which also serves the in-process registries. */
export async function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: COMMAND_TIMEOUT_MS,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (err) => reject(new Error(`${command} could not run: ${err.message}`)));
    child.on("close", (status) => resolve({ stdout, stderr, status }));
  });
}

/** Runs a command that must succeed. */
export async function ok(command: string, args: string[]): Promise<Run> {
  const outcome = await run(command, args);
  if (outcome.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${outcome.status}:\n${outcome.stderr}${outcome.stdout}`);
  }
  return outcome;
}

export interface TransferFixture {
  work: { dir: string; remove: () => void };
  /** Directory holding the CA as ca.crt (skopeo's --cert-dir). */
  certDir: string;
  caFile: string;
  caPem: string;
  passwordFile: string;
  /** `--src-creds`/`--dest-creds` for skopeo. */
  creds: string;
  /** A docker config.json with the administrator's credentials for `hosts`. */
  credsFile(hosts: string[]): string;
  start(): Promise<TlsRegistry>;
  /** The command line, as a process. */
  airlock(args: string[]): Promise<Run>;
  api(registry: TlsRegistry): ApiClient;
  stop(): Promise<void>;
}

export interface TlsRegistry {
  registry: TestRegistry;
  /** localhost:<port> */
  host: string;
  url: string;
}

export interface ApiReply {
  status: number;
  json: unknown;
  text: string;
}

export interface ApiClient {
  call(method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD", path: string, body?: unknown): Promise<ApiReply>;
  /** Posts a file as the body of an import. */
  importFile(project: string, file: string, query?: string, contentType?: string): Promise<ApiReply>;
  createProject(name: string, extra?: Record<string, unknown>): Promise<void>;
}

export function createFixture(): TransferFixture {
  const work = tempDir("transfer");
  const tls = selfSignedCertificate(work.dir);
  const certDir = path.join(work.dir, "certs");
  mkdirSync(certDir);
  const caFile = path.join(certDir, "ca.crt");
  const caPem = readFileSync(tls.certFile, "utf8");
  writeFileSync(caFile, caPem);
  const passwordFile = path.join(work.dir, "password");
  writeFileSync(passwordFile, `${ADMIN.password}\n`);
  const registries: TlsRegistry[] = [];
  const agents: Agent[] = [];
  const auth = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64")}`;

  return {
    work,
    certDir,
    caFile,
    caPem,
    passwordFile,
    creds: `${ADMIN.username}:${ADMIN.password}`,
    credsFile(hosts) {
      const file = path.join(work.dir, `creds-${registries.length}-${hosts.length}.json`);
      const entry = { auth: Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };
      writeFileSync(file, JSON.stringify({ auths: Object.fromEntries(hosts.map((h) => [h, entry])) }));
      return file;
    },
    async start() {
      const registry = await startTestRegistry({ tls });
      const port = new URL(registry.url).port;
      const started = { registry, host: `localhost:${port}`, url: `https://localhost:${port}` };
      registries.push(started);
      return started;
    },
    airlock: (args) => run(process.execPath, [MAIN, ...args]),
    api(target) {
      const dispatcher = new Agent({ connect: { ca: caPem }, headersTimeout: 60_000, bodyTimeout: 60_000 });
      agents.push(dispatcher);
      const reply = async (response: Awaited<ReturnType<typeof request>>): Promise<ApiReply> => {
        const text = await response.body.text();
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: response.statusCode, json, text };
      };
      const client: ApiClient = {
        async call(method, path, body) {
          const raw = path.startsWith("/v2");
          const response = await request(`${target.url}${raw ? "" : "/api/v2.0"}${path}`, {
            method,
            dispatcher,
            headers: { authorization: auth, ...(body !== undefined && { "content-type": "application/json" }) },
            ...(body !== undefined && { body: JSON.stringify(body) }),
          });
          return reply(response);
        },
        async importFile(project, file, query = "", contentType = "application/x-tar") {
          const response = await request(`${target.url}/api/v2.0/projects/${project}/imports${query}`, {
            method: "POST",
            dispatcher,
            headers: { authorization: auth, "content-type": contentType },
            body: createReadStream(file),
          });
          return reply(response);
        },
        async createProject(name, extra = {}) {
          const created = await client.call("POST", "/projects", { project_name: name, ...extra });
          expect(created.status, created.text).toBe(201);
        },
      };
      return client;
    },
    async stop() {
      for (const agent of agents) await agent.close();
      for (const each of registries) await each.registry.stop();
      work.remove();
    },
  };
}

/** Where a registry's image is, for skopeo. */
export function docker(registry: TlsRegistry, name: string): string {
  return `docker://${registry.host}/${name}`;
}
