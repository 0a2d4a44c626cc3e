// A consumer's Pulumi stack, as the team would run it: the Pulumi toolchain and Node.js on PATH and
// nothing of this repository's node_modules, a file backend and Pulumi home of its own in the
// test's directory, the real engine through the Automation API.

import { mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type OutputMap, type Stack } from "@pulumi/pulumi/automation";
import { expect } from "vitest";
import { call, type Endpoint } from "../e2e/registry-calls";
import { NODE_BINARY, PROJECT_ROOT } from "./consumer-install";

/** The project's Pulumi CLI and the language hosts beside it (scripts/bootstrap.sh). */
export const PULUMI_BIN = path.join(PROJECT_ROOT, ".tools", "pulumi", "bin");

/**
 * PATH for a consumer's commands under `workDir`: the Pulumi toolchain and a directory holding only
 * the pinned Node.js as `node`, then the system's.
 */
export function consumerPath(workDir: string): string {
  const nodeDir = path.join(workDir, "node-bin");
  mkdirSync(nodeDir, { recursive: true });
  try {
    symlinkSync(NODE_BINARY, path.join(nodeDir, "node"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return [PULUMI_BIN, nodeDir, "/usr/bin", "/bin"].join(":");
}

/** A new stack `dev` of the program in `programDir`, its state and Pulumi home under `workDir`. */
export async function consumerStack(
  programDir: string,
  workDir: string,
  config: Record<string, string>,
): Promise<Stack> {
  const backend = path.join(workDir, "state");
  mkdirSync(backend, { recursive: true });
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(PULUMI_BIN) });
  const stack = await LocalWorkspace.createStack(
    { stackName: "dev", workDir: programDir },
    {
      pulumiCommand,
      envVars: {
        PATH: consumerPath(workDir),
        HOME: workDir,
        PULUMI_HOME: path.join(workDir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "airlock-package-test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      },
    },
  );
  await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }])));
  return stack;
}

/** The registry a consumer's stack outputs name (`url`, `caCertificate`). */
export function registryOf(outputs: OutputMap): Endpoint {
  const url = String(outputs["url"]?.value);
  return { url, host: new URL(url).host, ca: String(outputs["caCertificate"]?.value), certDir: "" };
}

/**
 * The pull robot the consumer programs declare (outputs `robotName`, `robotSecret`): checks its
 * name, that its secret stays a secret in the state, that it logs in and that a wrong secret does not.
 */
export async function expectRobotLogsIn(
  endpoint: Endpoint,
  outputs: OutputMap,
): Promise<{ user: string; password: string }> {
  const robot = { user: String(outputs["robotName"]?.value), password: String(outputs["robotSecret"]?.value) };
  expect(robot.user).toBe("robot$apps+deployer");
  expect(outputs["robotSecret"]?.secret).toBe(true);
  expect((await call(endpoint, "GET", "/v2/", robot)).status).toBe(200);
  expect((await call(endpoint, "GET", "/v2/", { ...robot, password: "wrong" })).status).toBe(401);
  return robot;
}
