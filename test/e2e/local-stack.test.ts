// The embedded default deployment through the real engine: up, up again (no changes), the
// server stopped by hand then refresh (drift seen), up (healed), destroy (process gone).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type TestStack,
  changes,
  createTestStack,
  destroyAndRemove,
  freePort,
  processExists,
  waitFor,
} from "./harness";
import { allocatorEnvironment } from "../../components/local/server-allocator";

const STEP_TIMEOUT_MS = 240_000;

interface Endpoint {
  url: string;
  ca: string;
  username: string;
  password: string;
}

/** The processes whose parent is `pid` (the server's workers). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The parent's pid is the second field after the name, which ends at the last ")".
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // gone since it was listed
    }
  }
  return children;
}

function getV2(endpoint: Endpoint, withCredentials: boolean): Promise<{ status: number; apiVersion: unknown }> {
  return new Promise((resolve, reject) => {
    const auth = withCredentials
      ? { Authorization: `Basic ${Buffer.from(`${endpoint.username}:${endpoint.password}`).toString("base64")}` }
      : undefined;
    const req = https.get(
      `${endpoint.url}/v2/`,
      { ca: endpoint.ca, headers: auth, agent: false, timeout: 10_000 },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, apiVersion: res.headers["docker-distribution-api-version"] });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

/** `skopeo login` as a user would run it, trusting the stack's CA through a certificate directory. */
function skopeoLogin(endpoint: Endpoint, password: string, workDir: string): { status: number | null; output: string } {
  const certDir = path.join(workDir, "certs");
  mkdirSync(certDir, { recursive: true });
  writeFileSync(path.join(certDir, "ca.crt"), endpoint.ca);
  const host = new URL(endpoint.url).host;
  const result = spawnSync(
    "skopeo",
    ["login", "--cert-dir", certDir, "--username", endpoint.username, "--password-stdin", host],
    {
      input: password,
      encoding: "utf8",
      timeout: 30_000,
      // Credentials go to a file of the test's own, not the user's.
      env: { PATH: process.env["PATH"], REGISTRY_AUTH_FILE: path.join(workDir, "auth.json"), HOME: workDir },
    },
  );
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("local stack lifecycle", () => {
  let test: TestStack;
  let port: number;
  let endpoint: Endpoint;
  let firstPid: number;
  let secondPid: number;

  beforeAll(async () => {
    port = await freePort();
    test = await createTestStack((workDir) => ({
      local: { port, stateDir: path.join(workDir, "registry"), logLevel: "warn" },
    }));
  }, STEP_TIMEOUT_MS);

  afterAll(() => destroyAndRemove(test), STEP_TIMEOUT_MS);

  it(
    "up starts a registry that answers over HTTPS with the generated CA",
    async () => {
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({ create: 9 });
      const outputs = result.outputs;
      expect(outputs["url"]?.value).toBe(`https://localhost:${port}`);
      expect(outputs["adminPassword"]?.secret).toBe(true);
      expect(outputs["caCertificate"]?.value).toContain("BEGIN CERTIFICATE");
      endpoint = {
        url: outputs["url"]?.value as string,
        ca: outputs["caCertificate"]?.value as string,
        username: outputs["adminUsername"]?.value as string,
        password: outputs["adminPassword"]?.value as string,
      };
      firstPid = outputs["serverPid"]?.value as number;
      expect(processExists(firstPid)).toBe(true);
      // With the workers' 2 MiB semi-spaces (server-process.ts SERVER_NODE_FLAGS).
      expect(readFileSync(`/proc/${firstPid}/cmdline`, "utf8").split("\0")).toContain("--max-semi-space-size=2");
      // On jemalloc where this machine has it (server-allocator.ts), its workers too.
      const jemalloc = allocatorEnvironment((file) => existsSync(file))["LD_PRELOAD"];
      for (const pid of [firstPid, ...childPids(firstPid)]) {
        const maps = readFileSync(`/proc/${pid}/maps`, "utf8");
        expect(maps.includes("libjemalloc"), `process ${pid}`).toBe(jemalloc !== undefined);
      }

      expect(await getV2(endpoint, false)).toEqual({ status: 401, apiVersion: "registry/2.0" });
      expect(await getV2(endpoint, true)).toEqual({ status: 200, apiVersion: "registry/2.0" });
      await expect(getV2({ ...endpoint, ca: "" }, true)).rejects.toThrow(
        /self.signed|unable to (verify|get local issuer)/i,
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "lets skopeo log in with the admin credentials and the exported CA",
    () => {
      const ok = skopeoLogin(endpoint, endpoint.password, test.workDir);
      expect(ok.output).toContain("Login Succeeded");
      expect(ok.status).toBe(0);
      const refused = skopeoLogin(endpoint, "not-the-password", test.workDir);
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/unauthorized|invalid username\/password/i);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "up again changes nothing",
    async () => {
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({});
      expect(result.outputs["serverPid"]?.value).toBe(firstPid);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "refresh shows a server stopped by hand as drift",
    async () => {
      process.kill(firstPid, "SIGTERM");
      await waitFor(() => !processExists(firstPid), 30_000, "the server to stop");

      const result = await test.stack.refresh();
      expect(changes(result.summary.resourceChanges)).toEqual({ update: 1 });
      const state = await test.stack.exportStack();
      const server = (
        state.deployment as { resources: Array<{ type: string; outputs?: Record<string, unknown> }> }
      ).resources.find((r) => r.type === "pulumi-nodejs:dynamic/local:ServerProcess");
      expect(server?.outputs).toMatchObject({ running: false, pid: 0 });

      const preview = await test.stack.preview();
      expect(changes(preview.changeSummary)).toEqual({ update: 1 });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "up heals it",
    async () => {
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({ update: 1 });
      secondPid = result.outputs["serverPid"]?.value as number;
      expect(secondPid).not.toBe(firstPid);
      expect(processExists(secondPid)).toBe(true);
      expect(await getV2(endpoint, true)).toEqual({ status: 200, apiVersion: "registry/2.0" });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy stops the process and keeps the data by default",
    async () => {
      const result = await test.stack.destroy();
      expect(changes(result.summary.resourceChanges)).toEqual({ delete: 9 });
      // The process is gone once its new parent (init) has reaped it.
      await waitFor(() => !processExists(secondPid), 10_000, "the server process to be reaped");
      await expect(getV2(endpoint, true)).rejects.toThrow(/ECONNREFUSED/);
      expect(existsSync(path.join(test.workDir, "registry", "data"))).toBe(true);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "removes the data on destroy when configured to, and changing that does not restart the server",
    async () => {
      const stateDir = path.join(test.workDir, "registry");
      const created = await test.stack.up();
      const pid = created.outputs["serverPid"]?.value as number;
      expect(processExists(pid)).toBe(true);

      await test.stack.setConfig("airlock:local", {
        value: JSON.stringify({ port, stateDir, logLevel: "warn", removeDataOnDestroy: true }),
      });
      const updated = await test.stack.up();
      expect(changes(updated.summary.resourceChanges)).toEqual({ update: 1 });
      expect(updated.outputs["serverPid"]?.value).toBe(pid);

      await test.stack.destroy();
      await waitFor(() => !processExists(pid), 10_000, "the server process to be reaped");
      expect(existsSync(stateDir)).toBe(false);
    },
    STEP_TIMEOUT_MS,
  );
});

describe("invalid stack configuration", () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await createTestStack(() => ({ local: { port: 70000 }, adminUsernme: "typo" }));
  }, STEP_TIMEOUT_MS);
  afterAll(() => test?.remove(), STEP_TIMEOUT_MS);

  it(
    "fails the preview before any resource, naming the keys, values and expectations",
    async () => {
      const failure = await test.stack.preview().then(
        () => new Error("the preview should have failed"),
        (err: unknown) => err as Error,
      );
      expect(failure.message).toContain("invalid stack configuration");
      expect(failure.message).toContain("airlock:local.port: expected a port from 1 to 65535 (got 70000)");
      expect(failure.message).toContain("airlock:adminUsernme: unknown key");
      const state = await test.stack.exportStack();
      expect((state.deployment as { resources?: unknown[] }).resources ?? []).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "refuses an AWS or Kubernetes target without its image, instead of deploying something else",
    async () => {
      const failure = async (): Promise<Error> =>
        test.stack.preview().then(
          () => new Error("the preview should have failed"),
          (err: unknown) => err as Error,
        );
      await test.stack.setAllConfig({
        "airlock:target": { value: "aws" },
        "airlock:local": { value: JSON.stringify({ port: 5443 }) },
      });
      await test.stack.removeConfig("airlock:adminUsernme");
      expect((await failure()).message).toContain(
        "airlock:aws.image: the AWS target needs the server image (registry-server/Dockerfile)",
      );
      await test.stack.setConfig("airlock:target", { value: "kubernetes" });
      expect((await failure()).message).toContain(
        "airlock:kubernetes.image: the Kubernetes target needs the server image",
      );
      const state = await test.stack.exportStack();
      expect((state.deployment as { resources?: unknown[] }).resources ?? []).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );
});
