// Which server LocalRegistry runs: the TypeScript sources from a checkout, the compiled server
// from the installed package, found from wherever the components' own module sits; and with
// which V8 flags, the same wherever a registry process starts.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot, serverEntryPoint } from "../../components/local/server-entry";
import { JEMALLOC_LIBRARIES, SERVER_MALLOC_CONF, allocatorEnvironment } from "../../components/local/server-allocator";
import { SERVER_NODE_FLAGS } from "../../components/local/server-process";

const SERVER_ROOT = path.resolve(__dirname, "..", "..", "registry-server");

describe("serverEntryPoint", () => {
  const root = mkdtempSync(path.join(tmpdir(), "airlock-server-entry-"));
  const installed = path.join(root, "node_modules", "airlock");
  mkdirSync(path.join(installed, "registry-server"), { recursive: true });
  writeFileSync(path.join(installed, "registry-server", "package.json"), "{}");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("runs the sources from a checkout's TypeScript components", () => {
    expect(serverEntryPoint(path.join(installed, "components", "local", "local-registry.ts"))).toBe(
      path.join(installed, "registry-server", "src", "main.ts"),
    );
  });

  it("runs the compiled server from the package's compiled components", () => {
    expect(serverEntryPoint(path.join(installed, "dist", "components", "local", "local-registry.js"))).toBe(
      path.join(installed, "registry-server", "dist", "main.js"),
    );
  });

  it("finds this checkout's own server", () => {
    expect(packageRoot(__dirname)).toBe(path.resolve(__dirname, "..", ".."));
  });

  it("says so when no server is above the components", () => {
    expect(() => packageRoot(path.join(root, "elsewhere"))).toThrow(/registry server is not in this package/);
  });
});

describe("the server process's V8 flags", () => {
  it("are the workers' own, for the local target's process and the image's", async () => {
    const { WORKER_V8_FLAGS } = (await import(path.join(SERVER_ROOT, "src", "cluster", "worker-pool.ts"))) as {
      WORKER_V8_FLAGS: string[];
    };
    expect(SERVER_NODE_FLAGS).toEqual(WORKER_V8_FLAGS);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(path.join(SERVER_ROOT, "Dockerfile"), "utf8"));
    expect(JSON.parse(entrypoint?.[1] ?? "[]")).toEqual(["node", ...WORKER_V8_FLAGS, "dist/main.js"]);
  });
});

describe("the server process's allocator", () => {
  const dockerfile = readFileSync(path.join(SERVER_ROOT, "Dockerfile"), "utf8");

  it("is jemalloc where the machine has it, glibc's malloc otherwise", () => {
    const arm = "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2";
    expect(allocatorEnvironment((file) => file === arm)).toEqual({ LD_PRELOAD: arm, MALLOC_CONF: SERVER_MALLOC_CONF });
    expect(allocatorEnvironment(() => false)).toEqual({});
  });

  it("has the same settings in the image and in the benchmark", async () => {
    const preload = /^ENV LD_PRELOAD=(\S+)$/m.exec(dockerfile)?.[1];
    expect(JEMALLOC_LIBRARIES).toContain(preload);
    expect(/^ENV MALLOC_CONF=(\S+)$/m.exec(dockerfile)?.[1]).toBe(SERVER_MALLOC_CONF);
    const bench = (await import(path.join(SERVER_ROOT, "..", "bench", "lib", "allocator.ts"))) as {
      SERVER_MALLOC_CONF: string;
      JEMALLOC_LIBRARIES: string[];
    };
    expect(bench.SERVER_MALLOC_CONF).toBe(SERVER_MALLOC_CONF);
    expect(bench.JEMALLOC_LIBRARIES).toEqual(JEMALLOC_LIBRARIES);
  });

  it("is installed in the image before the server's user, which could not install it", () => {
    const lines = dockerfile.split("\n");
    const runtime = lines.findLastIndex((line) => line.startsWith("FROM "));
    const installed = lines.findIndex((line) => line.includes("libjemalloc2"));
    const user = lines.findIndex((line) => line.startsWith("USER "));
    expect(installed).toBeGreaterThan(runtime);
    expect(installed).toBeLessThan(user);
  });
});
