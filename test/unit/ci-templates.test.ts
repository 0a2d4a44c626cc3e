// The CI templates users copy (ci-templates/): each parses as YAML, holds the steps that make it
// do its job (the preview posted on the pull or merge request with the policy pack, the scheduled
// drift check failing on exit code 7 and reporting), and its shell parses with bash -n. The
// drift check itself runs against a real stack in test/e2e/ci-drift-check.test.ts.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const TEMPLATES = path.resolve(__dirname, "..", "..", "ci-templates");

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { steps: Step[]; strategy?: { matrix?: { stack?: string[] } } }>;
}

interface GitlabJob {
  extends?: string;
  rules?: Array<{ if: string }>;
  script?: string[];
  before_script?: string[];
  artifacts?: { when: string; paths: string[] };
}

/** Parses strictly: duplicate keys and YAML errors fail the test. */
function load<T>(file: string): T {
  return parse(readFileSync(path.join(TEMPLATES, file), "utf8"), { strict: true, uniqueKeys: true }) as T;
}

/** bash -n: the script parses. */
function bashParses(script: string): string {
  const run = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
  return run.status === 0 ? "" : run.stderr;
}

function steps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps);
}

describe("the GitHub Actions templates", () => {
  it("preview every pull request with the policy pack and post it as a comment", () => {
    const workflow = load<Workflow>("github/airlock-preview.yml");
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    expect(workflow.permissions["pull-requests"]).toBe("write");
    const preview = steps(workflow).find((step) => step.uses?.startsWith("pulumi/actions@"));
    expect(preview?.with).toMatchObject({
      command: "preview",
      "comment-on-pr": true,
      "edit-pr-comment": true,
      policyPacks: "policy",
      diff: true,
      "pulumi-version": "3.259.0",
    });
    expect(String(preview?.with?.["github-token"])).toContain("GITHUB_TOKEN");
    expect(String(preview?.with?.["stack-name"])).toContain("matrix.stack");
    expect(steps(workflow).some((step) => step.run?.includes("npm ci"))).toBe(true);
  });

  it("check for drift on a schedule, fail on exit code 7 and report it in an issue", () => {
    const workflow = load<Workflow>("github/airlock-drift.yml");
    const schedule = workflow.on["schedule"] as Array<{ cron: string }>;
    expect(schedule[0]?.cron.split(" ")).toHaveLength(5);
    expect(workflow.permissions["issues"]).toBe("write");
    const all = steps(workflow);
    const check = all.find((step) => step.id === "drift");
    expect(check?.run).toContain("bash ci-templates/drift-check.sh");
    expect(check?.run).toMatch(/exit "\$code"/);
    const report = all.find((step) => step.if?.includes("steps.drift.outputs.exit-code == '7'"));
    expect(report?.if).toContain("failure()");
    expect(report?.run).toContain("gh issue create");
    expect(report?.run).toContain("gh issue comment");
    for (const step of all) if (step.run) expect(bashParses(step.run)).toBe("");
  });
});

describe("the GitLab CI template", () => {
  const template = load<Record<string, GitlabJob & Record<string, unknown>>>("gitlab/airlock.gitlab-ci.yml");

  it("previews merge requests with the policy pack and posts a note through the API", () => {
    const job = template["airlock-preview"];
    expect(job?.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    const script = (job?.script ?? []).join("\n");
    expect(script).toContain("pulumi preview --diff");
    expect(script).toContain("--policy-pack policy");
    expect(script).toContain("$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes");
    expect(script).toContain('exit "$code"');
    expect(bashParses(script)).toBe("");
  });

  it("checks for drift in scheduled pipelines, failing them and keeping the report", () => {
    const job = template["airlock-drift"];
    expect(job?.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    expect(job?.script).toEqual(['bash ci-templates/drift-check.sh "$AIRLOCK_STACK" drift-report.md']);
    expect(job?.artifacts).toMatchObject({ when: "always", paths: ["drift-report.md"] });
    expect(template[".airlock-pulumi"]?.before_script?.join("\n")).toContain("npm ci");
    expect(job?.extends).toBe(".airlock-pulumi");
  });
});

describe("the drift check script", () => {
  it("runs the refresh preview that fails with exit code 7 on drift, and parses", () => {
    const script = readFileSync(path.join(TEMPLATES, "drift-check.sh"), "utf8");
    expect(script).toContain("pulumi refresh --preview-only --expect-no-changes");
    expect(bashParses(script)).toBe("");
    expect(existsSync(path.join(TEMPLATES, "drift-check.sh"))).toBe(true);
  });
});
