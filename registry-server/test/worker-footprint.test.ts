// What a worker process loads and should not: the modules a worker imports at start (cli.ts
// imports, then worker-process.ts and registry.ts) are loaded in a fresh Node.js process, which
// reports the built-in and package modules it then holds. Each one kept out here is resident
// memory in every worker (bench/profiles/README.md, "Memory"): Node's bundled undici through an
// ES module namespace of node:http (~2 MiB in a worker), TLS through prom-client's Pushgateway
// (~1.7), the yaml package (~1.3).

import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "..", "src");

interface Footprint {
  builtins: string[];
  packages: string[];
}

/** Imports `modules` (paths under src/) in a new process and lists what it then holds. */
function footprintOf(modules: string[]): Footprint {
  const script = [
    `import { createRequire } from "node:module";`,
    ...modules.map((file) => `await import(${JSON.stringify(path.join(SRC, file))});`),
    `const required = Object.keys(createRequire(import.meta.url).cache);`,
    `console.log(JSON.stringify({ builtins: process.moduleLoadList, packages: required }));`,
  ].join("\n");
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the import failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Footprint;
}

describe("a worker's modules", () => {
  it("load neither undici, TLS nor the yaml package", () => {
    const footprint = footprintOf(["config.ts", "logger.ts", "cluster/worker-process.ts", "registry.ts"]);
    // The probe can fail: the composition root does load node:http and prom-client.
    expect(footprint.builtins).toContain("NativeModule http");
    expect(footprint.packages.some((file) => file.includes("/prom-client/lib/registry.js"))).toBe(true);

    expect(footprint.builtins.filter((name) => /undici|NativeModule (tls|https)$/.test(name))).toEqual([]);
    expect(footprint.packages.filter((file) => /\/(yaml|prom-client\/lib\/pushgateway)/.test(file))).toEqual([]);
  });

  it("would load them through an ES module import of node:http, the index of prom-client and yaml", () => {
    // The same probe, showing it sees what the comments of http/server.ts, http/prometheus.ts and
    // yaml-parser.ts say they avoid.
    const footprint = footprintOf(["../test/fixtures/footprint-baseline.ts"]);
    expect(footprint.builtins).toContain("NativeModule internal/deps/undici/undici");
    expect(footprint.builtins).toContain("NativeModule tls");
    expect(footprint.packages.some((file) => file.includes("/yaml/dist/"))).toBe(true);
  });
});
