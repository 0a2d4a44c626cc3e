// Shared by the server tests: an in-process registry on an ephemeral port with captured logs,
// a self-signed certificate made with openssl, and a small HTTP(S) client.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { hashPassword } from "../src/auth/password-hash.ts";
import type { ServerConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { startRegistry, type RegistryOptions } from "../src/registry.ts";

export const ADMIN = { username: "admin", password: "test-admin-password" };

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `airlock-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A self-signed ECDSA certificate for localhost and 127.0.0.1 (it is its own CA). */
export function selfSignedCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, "tls.crt");
  const keyFile = path.join(dir, "tls.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
      .concat(["-keyout", keyFile, "-out", certFile]),
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}

export interface TestRegistry {
  url: string;
  logs: string[];
  dataDir: string;
  stop: () => Promise<void>;
}

export async function startTestRegistry(
  overrides: Partial<ServerConfig> = {},
  options: RegistryOptions = {},
): Promise<TestRegistry> {
  const data = tempDir("data");
  const logs: string[] = [];
  const sink = new PassThrough();
  sink.on("data", (chunk: Buffer) => logs.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  const config: ServerConfig = {
    addr: { host: "127.0.0.1", port: 0 },
    shutdownTimeoutMs: 5_000,
    dataDir: data.dir,
    admin: { username: ADMIN.username, passwordHash: await hashPassword(ADMIN.password) },
    logLevel: "info",
    token: { service: "airlock", ttlSeconds: 300 },
    limits: { maxManifestBytes: 4 * 1024 * 1024, uploadIdleHours: 24 },
    mirror: { namespaces: {}, hosts: {} },
    upstream: { timeoutMs: 10_000, healthCheckIntervalMs: 300_000 },
    ...overrides,
  };
  const server = await startRegistry(config, createLogger("info", sink), options);
  return {
    url: server.url,
    logs,
    dataDir: data.dir,
    stop: async () => {
      await server.stop();
      data.remove();
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; ca?: string; auth?: typeof ADMIN } = {},
): Promise<Reply> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) {
    headers["Authorization"] =
      `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64")}`;
  }
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: options.method ?? "GET",
        headers,
        agent: false,
        ...(options.ca && { ca: options.ca }),
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export function writeFile(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}
