// Drives the real Pulumi engine (the project's CLI, through the Automation API) on a throwaway
// stack of this project, with its own file backend in a temporary directory.

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type OpMap, type Stack } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const PULUMI_ROOT = path.join(PROJECT_ROOT, ".tools", "pulumi");

export interface TestStack {
  stack: Stack;
  stackName: string;
  /** Temporary directory for the backend and the registry's state. */
  workDir: string;
  remove(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Creates a stack of this project (or of another Pulumi program in it) with its own backend.
 * @param config the stack's `airlock:` settings, given the stack's temporary directory
 * @param programDir the directory of the program's Pulumi.yaml; default the project root
 */
export async function createTestStack(
  config: (workDir: string) => Record<string, unknown>,
  programDir: string = PROJECT_ROOT,
): Promise<TestStack> {
  if (!existsSync(path.join(PULUMI_ROOT, "bin", "pulumi"))) {
    throw new Error("the project's Pulumi CLI is missing: run scripts/bootstrap.sh (scripts/test.sh does)");
  }
  const workDir = mkdtempSync(path.join(tmpdir(), "airlock-e2e-"));
  const stackName = `e2e-${randomBytes(4).toString("hex")}`;
  const stackFile = path.join(programDir, `Pulumi.${stackName}.yaml`);
  // The stack file first: `stack init` adds its encryption salt to the config already there.
  const entries = Object.fromEntries(Object.entries(config(workDir)).map(([key, value]) => [`airlock:${key}`, value]));
  writeFileSync(stackFile, stringify({ config: entries }));

  const pulumiCommand = await PulumiCommand.get({ root: PULUMI_ROOT });
  const envVars = {
    PATH: `${path.join(PULUMI_ROOT, "bin")}:${path.join(PROJECT_ROOT, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}`,
    PULUMI_BACKEND_URL: `file://${workDir}`,
    PULUMI_CONFIG_PASSPHRASE: "airlock-e2e-tests",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // ts-node would type-check the program (4,000 declaration files) before every preview and up;
    // the test command's typecheck already checks these programs (tsconfig.json includes them).
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  };
  const stack = await LocalWorkspace.createStack({ stackName, workDir: programDir }, { pulumiCommand, envVars });
  return {
    stack,
    stackName,
    workDir,
    async remove() {
      try {
        await stack.workspace.removeStack(stackName, { force: true });
      } finally {
        rmSync(stackFile, { force: true });
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
}

/** True while a process with this pid exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits (at most `timeoutMs`) until `condition` holds. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

/** Counts of each operation, leaving out the resources that did not change. */
export function changes(ops: OpMap | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(ops ?? {}).filter(([op, count]) => op !== "same" && count));
}

/** Destroys what a test stack holds, then removes the stack and its directory, even on failure. */
export async function destroyAndRemove(test: TestStack | undefined): Promise<void> {
  try {
    await test?.stack.destroy();
  } finally {
    await test?.remove();
  }
}
