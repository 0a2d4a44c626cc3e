// The drift check the CI templates run (ci-templates/drift-check.sh, `pulumi refresh
// --preview-only --expect-no-changes`) against a real stack with the project's CLI and a local
// backend: exit code 0 and a "no drift" report while the live state matches the stack, exit code
// 7 and a report showing the difference once it was changed by hand, nothing changed by the check
// itself. The program (programs/drift-check/) manages one file, standing in for a registry's
// settings.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, type TestStack, createTestStack } from "./harness";

const STEP_TIMEOUT_MS = 300_000;
const PROGRAM_DIR = path.join(__dirname, "programs", "drift-check");
const DRIFT_CHECK = path.join(PROJECT_ROOT, "ci-templates", "drift-check.sh");

describe("the CI templates' drift check", () => {
  let test: TestStack;
  let managed: string;

  /** Runs drift-check.sh as the CI jobs do; returns its exit code, output and report. */
  function driftCheck(): { code: number | null; output: string; report: string } {
    const report = path.join(test.workDir, "drift-report.md");
    const run = spawnSync("bash", [DRIFT_CHECK, test.stackName, report, PROGRAM_DIR], {
      env: {
        ...process.env,
        PATH: `${path.join(PROJECT_ROOT, ".tools", "pulumi", "bin")}:${path.join(PROJECT_ROOT, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}`,
        PULUMI_BACKEND_URL: `file://${test.workDir}`,
        PULUMI_CONFIG_PASSPHRASE: "airlock-e2e-tests",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      },
      encoding: "utf8",
      timeout: STEP_TIMEOUT_MS,
    });
    return { code: run.status, output: run.stdout + run.stderr, report: readFileSync(report, "utf8") };
  }

  beforeAll(async () => {
    test = await createTestStack((workDir) => ({ file: path.join(workDir, "settings.yaml") }), PROGRAM_DIR);
    managed = path.join(test.workDir, "settings.yaml");
    await test.stack.up();
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    await test?.stack.destroy();
    await test?.remove();
  }, STEP_TIMEOUT_MS);

  it(
    "passes with exit code 0 while nothing drifted",
    () => {
      const { code, report } = driftCheck();
      expect(code).toBe(0);
      expect(report).toContain(`No drift in stack \`${test.stackName}\``);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "fails with exit code 7 and reports the difference once the live state was changed by hand, changing nothing",
    () => {
      writeFileSync(managed, "retention: 1d\n");
      const { code, report } = driftCheck();
      expect(code).toBe(7);
      expect(report).toContain(`## Drift in stack \`${test.stackName}\``);
      expect(report).toContain("retention: 1d");
      // --preview-only: the state is untouched, so the next check sees the drift again.
      expect(driftCheck().code).toBe(7);
      expect(readFileSync(managed, "utf8")).toBe("retention: 1d\n");
    },
    STEP_TIMEOUT_MS,
  );
});
