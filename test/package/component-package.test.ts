// The components as a Pulumi component package, from a language other than TypeScript: a team's
// Pulumi YAML program (yaml-program/Pulumi.yaml) in a directory outside the repository, the packed
// package installed beside it (offline, as npm-package.test.ts does), its `packages:` naming the
// installed plugin (node_modules/airlock/provider). The engine runs the YAML host built from
// github.com/pulumi/pulumi-yaml and the plugin through Pulumi's Node.js language host, which
// derives the schema from the components' declared types. The program declares a local
// RegistryServer, a project, a pull robot, an upstream endpoint and a proxy-cache project; the
// robot logs in; destroy removes it all.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changes, freePort } from "../e2e/harness";
import { call } from "../e2e/registry-calls";
import { installConsumer, packProject } from "./consumer-install";
import { consumerPath, consumerStack, expectRobotLogsIn, PULUMI_BIN, registryOf } from "./consumer-stack";

const run = promisify(execFile);
const PROGRAM = path.join(__dirname, "yaml-program", "Pulumi.yaml");
const STEP_TIMEOUT_MS = 240_000;

interface Schema {
  name: string;
  version: string;
  resources: Record<
    string,
    {
      isComponent: boolean;
      inputProperties: Record<string, { $ref?: string; type?: string }>;
      requiredInputs: string[];
      properties: Record<string, unknown>;
    }
  >;
  types: Record<string, { enum?: { value: string }[]; properties?: Record<string, unknown> }>;
}

describe("the component package used from a Pulumi YAML program", () => {
  let workDir: string;
  let programDir: string;
  let stack: Stack;
  let stateDir: string;

  beforeAll(async () => {
    if (!existsSync(path.join(PULUMI_BIN, "pulumi-language-yaml"))) {
      throw new Error("the Pulumi YAML language host is missing: run scripts/bootstrap.sh (scripts/test.sh does)");
    }
    workDir = mkdtempSync(path.join(tmpdir(), "airlock-yaml-"));
    const packed = await packProject(workDir);
    programDir = path.join(workDir, "team-registry-yaml");
    // A YAML team installs only the package: the plugin, and the Pulumi SDK its dynamic resources run on.
    await installConsumer(programDir, packed, {}, { "Pulumi.yaml": readFileSync(PROGRAM, "utf8") });
    stateDir = path.join(workDir, "registry");
    stack = await consumerStack(programDir, workDir, {
      port: String(await freePort()),
      stateDir,
      // An upstream on this machine where nothing listens: the endpoint is declared, never pulled from.
      upstreamUrl: `http://127.0.0.1:${await freePort()}`,
    });
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.destroy().catch(() => undefined);
    if (workDir) {
      rmSync(workDir, { recursive: true, force: true });
    }
  }, STEP_TIMEOUT_MS);

  it(
    "serves a schema generated from the components' types",
    async () => {
      const { stdout } = await run(
        path.join(PULUMI_BIN, "pulumi"),
        ["package", "get-schema", "./node_modules/airlock/provider"],
        {
          cwd: programDir,
          env: { PATH: consumerPath(workDir), HOME: workDir, PULUMI_HOME: path.join(workDir, "pulumi-home") },
          timeout: STEP_TIMEOUT_MS,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const schema = JSON.parse(stdout) as Schema;
      expect(schema.name).toBe("airlock");
      expect(Object.keys(schema.resources).sort()).toEqual(
        ["Project", "ProxyProject", "RegistryEndpoint", "RegistryServer", "RobotAccount"].map(
          (name) => `airlock:index:${name}`,
        ),
      );
      const server = schema.resources["airlock:index:RegistryServer"]!;
      expect(server.isComponent).toBe(true);
      expect(server.requiredInputs).toEqual(["target"]);
      expect(server.inputProperties["target"]?.$ref).toBe("#/types/airlock:index:RegistryTarget");
      expect(schema.types["airlock:index:RegistryTarget"]?.enum?.map((member) => member.value)).toEqual([
        "local",
        "kubernetes",
        "aws",
      ]);
      expect(Object.keys(server.properties).sort()).toEqual([
        "adminPassword",
        "adminUsername",
        "caCertificate",
        "connection",
        "url",
      ]);
      expect(schema.resources["airlock:index:RobotAccount"]?.inputProperties["access"]).toMatchObject({
        type: "array",
      });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "up deploys the registry and its content, the robot logs in, and a second up changes nothing",
    async () => {
      const result = await stack.up();
      expect(result.summary.result).toBe("succeeded");
      const outputs = result.outputs;
      const endpoint = registryOf(outputs);
      const robot = await expectRobotLogsIn(endpoint, outputs);

      // The content, as the registry's own API reports it (read with the robot: apps is its project).
      const apps = await call(endpoint, "GET", "/api/v2.0/projects/apps", robot);
      expect(apps.status).toBe(200);
      expect(apps.json).toMatchObject({ metadata: { prevent_vul: "true", severity: "high" } });
      const admin = {
        user: String(outputs["adminUsername"]?.value),
        password: String(outputs["adminPassword"]?.value),
      };
      const mirror = await call(endpoint, "GET", "/api/v2.0/projects/mirror", admin);
      expect(mirror.status).toBe(200);
      expect(mirror.json).toMatchObject({
        project_id: Number(outputs["mirrorProjectId"]?.value),
        registry_id: Number(outputs["upstreamRegistryId"]?.value),
      });
      const upstream = await call(
        endpoint,
        "GET",
        `/api/v2.0/registries/${Number(outputs["upstreamRegistryId"]?.value)}`,
        admin,
      );
      expect(upstream.json).toMatchObject({ name: "upstream", type: "docker-registry" });

      const again = await stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy stops the server and removes its state",
    async () => {
      const endpoint = registryOf(await stack.outputs());
      const result = await stack.destroy();
      expect(result.summary.result).toBe("succeeded");
      await expect(call(endpoint, "GET", "/v2/")).rejects.toThrow();
      expect(existsSync(stateDir)).toBe(false);
    },
    STEP_TIMEOUT_MS,
  );
});
