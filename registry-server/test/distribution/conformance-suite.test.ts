// The OCI distribution-spec conformance suite (github.com/opencontainers/distribution-spec/
// conformance, built by scripts/tools/go-tools.sh) against the server as it runs in production: a
// real process, over TLS, with token authentication. Every API and data option the suite has is
// on (OCI_VERSION=dev turns on upload cancel, digest headers and tag parameters), and a second
// run adds the sparse data against a server configured for sparse indexes and images. Both must
// pass with no failure; a run that fails leaves its reports (junit.xml, results.yaml,
// report.html), the suite's output and the server's log in test-results/oci-conformance/.

import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { selfSignedCertificate, tempDir } from "../helpers.ts";

const SUITE = path.resolve(import.meta.dirname, "../../../.tools/bin/oci-conformance");
const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");
const KEPT = path.resolve(import.meta.dirname, "../../../test-results/oci-conformance");
const PASSWORD = "conformance-suite-password";
const SUITE_TIMEOUT_MS = 300_000;

/**
 * What the suite passed on this server, every option on (4 more skip, see below). A lower count
 * means a check stopped passing; a higher one, a newer suite: raise these then.
 */
const EXPECTED_PASSES = { full: 974, sparse: 1020 };

/**
 * The suite mounts blobs with a bearer token it asked for one repository only; the server then
 * answers the mount with an ordinary upload session (202, as the specification allows), which the
 * suite records as a skip. Only these may skip.
 */
const MAY_SKIP = /\/blob-mount(-anonymous)?$/;

/** Every switch of the suite's configuration (its config.go), on. */
const EVERY_OPTION: Record<string, string> = {
  OCI_VERSION: "dev",
  OCI_CACHE_AUTH: "true",
  OCI_LOG: "warn",
  OCI_API_PING: "true",
  OCI_API_PULL: "true",
  OCI_API_PUSH: "true",
  OCI_API_BLOBS_ATOMIC: "true",
  OCI_API_BLOBS_DELETE: "true",
  OCI_API_BLOBS_DIGEST_HEADER: "true",
  OCI_API_BLOBS_MOUNT_ANONYMOUS: "true",
  OCI_API_BLOBS_UPLOAD_CANCEL: "true",
  OCI_API_MANIFESTS_ATOMIC: "true",
  OCI_API_MANIFESTS_DELETE: "true",
  OCI_API_MANIFESTS_DIGEST_HEADER: "true",
  OCI_API_MANIFESTS_TAG_PARAM: "true",
  OCI_API_TAGS_ATOMIC: "true",
  OCI_API_TAGS_DELETE: "true",
  OCI_API_TAGS_LIST: "true",
  OCI_API_REFERRER: "true",
  OCI_DATA_IMAGE: "true",
  OCI_DATA_INDEX: "true",
  OCI_DATA_INDEX_LIST: "true",
  OCI_DATA_ARTIFACT: "true",
  OCI_DATA_SUBJECT: "true",
  OCI_DATA_SUBJECT_MISSING: "true",
  OCI_DATA_ARTIFACT_LIST: "true",
  OCI_DATA_SUBJECT_LIST: "true",
  OCI_DATA_DATA_FIELD: "true",
  OCI_DATA_NONDISTRIBUTABLE: "true",
  OCI_DATA_CUSTOM_FIELDS: "true",
  OCI_DATA_NO_LAYERS: "true",
  OCI_DATA_EMPTY_BLOB: "true",
  OCI_DATA_SHA512: "true",
};

interface ServerProcess {
  port: number;
  log: () => string;
  stop: () => Promise<number | null>;
}

interface SuiteRun {
  exitCode: number | null;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  disabled: number;
  /** Names of the test cases that did not pass or skip. */
  failing: string[];
  skippedNames: string[];
  /** "Sparse Manifests" → "Pass", from the summary's data conformance table. */
  data: Record<string, string>;
  output: string;
  seconds: number;
}

/** Starts `airlock-registry serve` as a process and waits (20 s at most) for its address. */
async function startServer(dir: string, extraConfig: string): Promise<ServerProcess> {
  const tls = selfSignedCertificate(dir);
  writeFileSync(path.join(dir, "password"), `${PASSWORD}\n`);
  const config = path.join(dir, "config.yaml");
  writeFileSync(
    config,
    [
      "http:",
      '  addr: "127.0.0.1:0"',
      `  tls: { certFile: ${tls.certFile}, keyFile: ${tls.keyFile} }`,
      "dataDir: data",
      extraConfig,
    ].join("\n"),
  );
  const child = spawn(process.execPath, [MAIN, "serve", "--config", config, "--admin-password-file", "password"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env["PATH"] ?? "" },
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const match = /"url":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`the server exited early with ${code}:\n${output}`)));
    setTimeout(() => reject(new Error(`the server did not start within 20s:\n${output}`)), 20_000).unref();
  });
  return {
    port,
    log: () => output,
    stop: async () => {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function attribute(tag: string, name: string): number {
  return Number(new RegExp(`\\b${name}="(\\d+)"`).exec(tag)?.[1] ?? "0");
}

/** Runs the suite against the server and reads its JUnit report. */
async function runSuite(dir: string, port: number, options: Record<string, string>): Promise<SuiteRun> {
  const results = path.join(dir, "results");
  const started = Date.now();
  const { exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve, reject) => {
    const child = spawn(SUITE, [], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: SUITE_TIMEOUT_MS,
      // Nothing from this environment (no proxy, no other configuration): the suite's own
      // settings, and the server's self-signed certificate as the only one Go trusts.
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: dir,
        SSL_CERT_FILE: path.join(dir, "tls.crt"),
        OCI_REGISTRY: `127.0.0.1:${port}`,
        OCI_TLS: "enabled",
        OCI_REPO1: "conformance/repo1",
        OCI_REPO2: "conformance/repo2",
        OCI_USERNAME: "admin",
        OCI_PASSWORD: PASSWORD,
        OCI_RESULTS_DIR: results,
        ...options,
      },
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ exitCode: code, output: text }));
  });
  const seconds = (Date.now() - started) / 1000;
  const junit = existsSync(path.join(results, "junit.xml"))
    ? readFileSync(path.join(results, "junit.xml"), "utf8")
    : "";
  // The suite's own counts are on <testsuite>: every check, nested ones included.
  const suite = /<testsuite [^>]*>/.exec(junit)?.[0] ?? "";
  const total = attribute(suite, "tests");
  const failed = attribute(suite, "failures");
  const errors = attribute(suite, "errors");
  const skipped = attribute(suite, "skipped");
  const disabled = attribute(suite, "disabled");
  const cases = [...junit.matchAll(/<testcase name="([^"]*)"[^>]*status="([a-z]+)"/g)];
  const table = output.slice(output.indexOf("Data conformance:"));
  const data = Object.fromEntries(
    [...table.matchAll(/^ {2}(\S[^.\n]*?)\.{2,}: +(\S+)$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]),
  );
  return {
    exitCode,
    passed: total - failed - errors - skipped - disabled,
    failed,
    errors,
    skipped,
    disabled,
    failing: cases.filter((c) => c[2] === "failure" || c[2] === "error").map((c) => c[1] ?? ""),
    skippedNames: cases.filter((c) => c[2] === "skipped").map((c) => c[1] ?? ""),
    data,
    output,
    seconds,
  };
}

describe("the OCI conformance suite against the server process", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Starts a server, runs the suite, keeps everything when it did not all pass. */
  async function conformance(name: string, extraConfig: string, options: Record<string, string>) {
    if (!existsSync(SUITE))
      throw new Error(`${SUITE} is missing: run scripts/tools/go-tools.sh (scripts/test.sh does)`);
    const work = tempDir(`conformance-${name}`);
    cleanups.push(async () => work.remove());
    const server = await startServer(work.dir, extraConfig);
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await server.stop();
    });
    const run = await runSuite(work.dir, server.port, options);
    stopped = true;
    const exit = await server.stop();
    const ok = run.exitCode === 0 && run.failed === 0 && run.errors === 0 && exit === 0;
    if (!ok) {
      const kept = path.join(KEPT, name);
      mkdirSync(kept, { recursive: true });
      if (existsSync(path.join(work.dir, "results"))) cpSync(path.join(work.dir, "results"), kept, { recursive: true });
      writeFileSync(path.join(kept, "suite-output.txt"), run.output);
      writeFileSync(path.join(kept, "server.log"), server.log());
    }
    console.log(
      `oci-conformance ${name}: ${run.passed} passed, ${run.skipped} skipped, ${run.failed} failed, ` +
        `${run.errors} errors in ${run.seconds.toFixed(1)} s`,
    );
    const where = ok ? "" : `; reports in ${path.join(KEPT, name)}`;
    expect(run.failing, `failing checks${where}`).toEqual([]);
    expect({ exitCode: run.exitCode, failed: run.failed, errors: run.errors, disabled: run.disabled }).toEqual({
      exitCode: 0,
      failed: 0,
      errors: 0,
      disabled: 0,
    });
    expect(exit, "the server's exit status after SIGTERM").toBe(0);
    expect(
      run.skippedNames.filter((n) => !MAY_SKIP.test(n)),
      "unexpected skips",
    ).toEqual([]);
    return run;
  }

  it("passes with every API and data option on", { timeout: 400_000 }, async () => {
    const run = await conformance("full", "", { ...EVERY_OPTION, OCI_DATA_SPARSE: "false" });
    expect(run.passed).toBeGreaterThanOrEqual(EXPECTED_PASSES.full);
    expect(run.data["Sparse Manifests"]).toBe("Disabled");
    expect(
      Object.entries(run.data).filter(([name, status]) => name !== "Sparse Manifests" && status !== "Pass"),
    ).toEqual([]);
  });

  it("passes the sparse data too against a server taking sparse indexes and images", { timeout: 400_000 }, async () => {
    const run = await conformance(
      "sparse",
      ["validation:", "  manifests:", "    indexes: { platforms: none }", "    blobs: none", ""].join("\n"),
      { ...EVERY_OPTION, OCI_DATA_SPARSE: "true" },
    );
    expect(run.passed).toBeGreaterThanOrEqual(EXPECTED_PASSES.sparse);
    expect(run.data["Sparse Manifests"]).toBe("Pass");
  });
});
