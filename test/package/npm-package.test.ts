// The npm package as another platform team gets it: `npm pack` of this repository (prepack
// compiles everything from clean), then installed from the tarball into a program of their own in a
// directory outside the repository (consumer-program/), offline, from the npm cache. The team's
// TypeScript is compiled by their ts-node; the package's is not compiled by anyone but prepack.
// That program deploys a local registry server with a project and a pull robot through the real
// Pulumi engine, the robot logs in, destroy removes it all; the server also starts by hand from the
// package's own command, `airlock-registry serve`.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changes, freePort } from "../e2e/harness";
import { call, type Endpoint } from "../e2e/registry-calls";
import { installConsumer, packProject, PROJECT_ROOT, type PackedPackage } from "./consumer-install";
import { consumerPath, consumerStack, expectRobotLogsIn, registryOf } from "./consumer-stack";

const run = promisify(execFile);
const PROGRAM_DIR = path.join(__dirname, "consumer-program");
const STEP_TIMEOUT_MS = 240_000;

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("the npm package", () => {
  let workDir: string;
  let packed: PackedPackage;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "airlock-package-"));
    packed = await packProject(workDir);
  }, STEP_TIMEOUT_MS);

  afterAll(() => {
    if (workDir) {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it("ships compiled JavaScript, declarations and source maps, and no TypeScript source", () => {
    const files = new Set(packed.files);
    for (const expected of [
      "dist/components/index.js",
      "dist/components/index.d.ts",
      "dist/components/index.js.map",
      "dist/components/aws/index.js",
      "dist/components/aws/index.d.ts",
      "dist/components/local/server-process.js",
      "registry-server/dist/main.js",
      "registry-server/dist/main.js.map",
      "registry-server/package.json",
      "registry-server/portal/dist/index.html",
      "provider/PulumiPlugin.yaml",
      "provider/package.json",
      "provider/index.js",
      "provider/index.ts",
      "provider/tsconfig.json",
      "dist/components/pulumi-package/index.js",
      "dist/components/pulumi-package/index.d.ts",
      "CHANGELOG.md",
      "README.md",
    ]) {
      expect(files, expected).toContain(expected);
    }
    // provider/index.ts only names the declarations the component package's schema is made from.
    const sources = packed.files.filter(
      (file) => /\.[mc]?ts$/.test(file) && !file.endsWith(".d.ts") && file !== "provider/index.ts",
    );
    expect(sources).toEqual([]);
    expect(packed.files.filter((file) => /(^|\/)(test|scripts|node_modules)\/|\.tsbuildinfo$/.test(file))).toEqual([]);
    // Source maps carry the sources, which the package does not ship as files.
    const map = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "dist/components/index.js.map"), "utf8")) as {
      sourcesContent?: string[];
    };
    expect(map.sourcesContent?.[0]).toContain("export {");
  });

  it("names every file its exports and its command point to", () => {
    const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = [
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === "string" ? [target] : Object.values(target),
      ),
      ...Object.values(manifest.bin),
    ]
      .filter((target) => !target.includes("*"))
      .map((target) => path.normalize(target));
    for (const target of targets) {
      expect(packed.files, target).toContain(target);
    }
  });

  it("depends on every package the server needs, at the server's versions, all parts at one version", () => {
    const server = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "registry-server/package.json"), "utf8")) as {
      version: string;
      dependencies: Record<string, string>;
    };
    expect(server.version).toBe(packed.manifest.version);
    const plugin = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "provider/package.json"), "utf8")) as {
      version: string;
    };
    expect(plugin.version).toBe(packed.manifest.version);
    for (const [name, version] of Object.entries(server.dependencies)) {
      expect(packed.manifest.dependencies?.[name], name).toBe(version);
    }
  });

  it("has a CHANGELOG section for its version", () => {
    const changelog = readFileSync(path.join(PROJECT_ROOT, "CHANGELOG.md"), "utf8");
    expect(changelog).toMatch(
      new RegExp(`^## ${packed.manifest.version.replaceAll(".", "\\.")} — \\d{4}-\\d{2}-\\d{2}$`, "m"),
    );
  });

  it(
    "has its API reference (docs/api) generated from the current doc comments",
    async () => {
      const out = path.join(workDir, "api");
      await run(path.join(PROJECT_ROOT, "node_modules", ".bin", "typedoc"), ["--out", out, "--logLevel", "Error"], {
        cwd: PROJECT_ROOT,
        timeout: STEP_TIMEOUT_MS,
      });
      const committed = path.join(PROJECT_ROOT, "docs", "api");
      const generated = filesUnder(out);
      expect(generated).toEqual(filesUnder(committed));
      const stale = generated.filter(
        (file) => readFileSync(path.join(out, file), "utf8") !== readFileSync(path.join(committed, file), "utf8"),
      );
      expect(stale, "run `npm run docs:api` and commit docs/api").toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );

  describe("installed into another team's program outside the repository", () => {
    let consumerDir: string;
    /** The consumer's PATH: the Pulumi toolchain and a directory holding only `node`. */
    let consumerBinPath: string;

    beforeAll(async () => {
      consumerDir = path.join(workDir, "team-registry");
      consumerBinPath = consumerPath(workDir);
      const program = Object.fromEntries(
        ["index.ts", "Pulumi.yaml", "tsconfig.json"].map((file) => [
          file,
          readFileSync(path.join(PROGRAM_DIR, file), "utf8"),
        ]),
      );
      // What `pulumi new typescript` gives a team, at the versions this repository locks.
      const dependencies = {
        "@pulumi/pulumi": "3.259.0",
        typescript: "5.9.3",
        "ts-node": "10.9.2",
        "@types/node": "24.19.2",
      };
      await installConsumer(consumerDir, packed, dependencies, program);
    }, STEP_TIMEOUT_MS);

    it("loads the components from node_modules, compiled, with their types", async () => {
      const installed = path.join(consumerDir, "node_modules", "airlock");
      const sources = filesUnder(installed).filter((file) => /\.[mc]?ts$/.test(file) && !file.endsWith(".d.ts"));
      expect(sources).toEqual(["provider/index.ts"]);
      const { stdout } = await run(
        "node",
        [
          "-e",
          'const c = require("airlock/components"); const a = require("airlock/components/aws"); console.log(JSON.stringify([typeof c.RegistryServer, typeof c.Project, typeof a.AwsRegistry]))',
        ],
        { cwd: consumerDir, env: { PATH: consumerBinPath }, timeout: 60_000 },
      );
      expect(JSON.parse(stdout)).toEqual(["function", "function", "function"]);
      // Nothing past `exports`: the server's modules are the command's, not a library.
      await expect(
        run("node", ["-e", 'require("airlock/registry-server/dist/cli.js")'], {
          cwd: consumerDir,
          env: { PATH: consumerBinPath },
        }),
      ).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    }, 60_000);

    it("starts the registry server from the package: airlock-registry serve", async () => {
      const bin = path.join(consumerDir, "node_modules", ".bin", "airlock-registry");
      const env = { PATH: consumerBinPath, HOME: workDir };
      // As the README has it: npx finds the command in the program's node_modules (offline: nothing fetched).
      const { stdout: version } = await run("npx", ["--offline", "airlock-registry", "version"], {
        cwd: consumerDir,
        env,
        timeout: 60_000,
      });
      expect(version.trim()).toContain(packed.manifest.version);

      const serveDir = path.join(workDir, "serve");
      mkdirSync(serveDir);
      await run(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
          "-keyout",
          path.join(serveDir, "key.pem"),
          "-out",
          path.join(serveDir, "cert.pem"),
        ],
        { timeout: 30_000 },
      );
      writeFileSync(path.join(serveDir, "admin-password"), "package-test-admin\n", { mode: 0o600 });
      const port = await freePort();
      const server: ChildProcess = spawn(
        bin,
        [
          "serve",
          "--addr",
          `127.0.0.1:${port}`,
          "--data-dir",
          path.join(serveDir, "data"),
          "--tls-cert",
          path.join(serveDir, "cert.pem"),
          "--tls-key",
          path.join(serveDir, "key.pem"),
          "--admin-password-file",
          path.join(serveDir, "admin-password"),
          "--workers",
          "1",
          "--log-level",
          "warn",
        ],
        { env, stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      server.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        const endpoint: Endpoint = {
          url: `https://localhost:${port}`,
          host: `localhost:${port}`,
          ca: readFileSync(path.join(serveDir, "cert.pem"), "utf8"),
          certDir: "",
        };
        const deadline = Date.now() + 30_000;
        let status = 0;
        while (Date.now() < deadline && server.exitCode === null) {
          status = await call(endpoint, "GET", "/v2/", { password: "wrong" }).then(
            (response) => response.status,
            () => 0,
          );
          if (status !== 0) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(status, stderr).toBe(401);
        expect((await call(endpoint, "GET", "/v2/", { user: "admin", password: "package-test-admin" })).status).toBe(
          200,
        );
        // The portal, built into the package.
        const page = await call(endpoint, "GET", "/");
        expect(page.status).toBe(200);
        expect(String(page.json).toLowerCase()).toContain("<!doctype html>");
      } finally {
        server.kill("SIGTERM");
      }
    }, 60_000);

    describe("its program, deployed with the real Pulumi engine", () => {
      let stack: Stack;
      let stateDir: string;
      let endpoint: Endpoint;
      let robot: { user: string; password: string };

      beforeAll(async () => {
        stateDir = path.join(workDir, "registry");
        stack = await consumerStack(consumerDir, workDir, { port: String(await freePort()), stateDir });
      }, STEP_TIMEOUT_MS);

      afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
      }, STEP_TIMEOUT_MS);

      it(
        "up deploys the server, the project and the robot, and the robot logs in",
        async () => {
          const result = await stack.up();
          expect(result.summary.result).toBe("succeeded");
          const outputs = result.outputs;
          endpoint = registryOf(outputs);
          robot = await expectRobotLogsIn(endpoint, outputs);
          // The server runs from the package's compiled JavaScript, with its V8 flags.
          const commandLine = readFileSync(`/proc/${Number(outputs["serverPid"]?.value)}/cmdline`, "utf8").split("\0");
          expect(commandLine.slice(1, 3)).toEqual([
            "--max-semi-space-size=2",
            path.join(consumerDir, "node_modules", "airlock", "registry-server", "dist", "main.js"),
          ]);

          const again = await stack.up();
          expect(changes(again.summary.resourceChanges)).toEqual({});
        },
        STEP_TIMEOUT_MS,
      );

      it(
        "destroy stops the server and removes its state",
        async () => {
          const result = await stack.destroy();
          expect(result.summary.result).toBe("succeeded");
          await expect(call(endpoint, "GET", "/v2/", robot)).rejects.toThrow();
          expect(existsSync(stateDir)).toBe(false);
        },
        STEP_TIMEOUT_MS,
      );
    });
  });
});
