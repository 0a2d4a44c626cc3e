// The DMZ policy pack (policy/) in a real `pulumi preview --policy-pack`: the project's CLI starts
// the pack as an analyzer through our language host's RunPlugin, with nothing downloaded. The
// program (programs/policy-check/) declares one resource per rule; with `breakRules` each breaks
// its rule and the preview fails naming every violation, without it the same resources keep the
// rules and the preview passes. Kubernetes resources are rendered to a directory (no cluster) and
// the registry resources are only previewed, so no server runs.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, type TestStack, createTestStack } from "./harness";

const STEP_TIMEOUT_MS = 300_000;
const PROGRAM_DIR = path.join(__dirname, "programs", "policy-check");
const POLICY_PACK = path.join(PROJECT_ROOT, "policy");

interface Violation {
  policy: string;
  resource: string;
  message: string;
  level: string;
}

/** The policy events of a preview, as the engine reported them. */
function violations(events: EngineEvent[]): Violation[] {
  return events.flatMap((event) => {
    const policy = event.policyEvent;
    if (!policy) return [];
    return [
      {
        policy: policy.policyName,
        resource: (policy.resourceUrn ?? "").split("::").at(-1) ?? "",
        message: policy.message,
        level: policy.enforcementLevel,
      },
    ];
  });
}

describe("the DMZ policy pack in a real preview", () => {
  let test: TestStack;
  let renderDir: string;

  beforeAll(async () => {
    renderDir = mkdtempSync(path.join(tmpdir(), "airlock-policy-render-"));
    test = await createTestStack(() => ({ breakRules: true, renderDir }), PROGRAM_DIR);
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    await test?.remove();
    rmSync(renderDir, { recursive: true, force: true });
  }, STEP_TIMEOUT_MS);

  it(
    "fails the preview of a stack breaking every rule, naming each violation and its resource",
    async () => {
      const events: EngineEvent[] = [];
      const failure = await test.stack
        .preview({ policyPacks: [POLICY_PACK], onEvent: (event) => events.push(event) })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(Error);
      const found = violations(events).map((v) => `${v.level} ${v.policy} ${v.resource}`);
      expect(found.sort()).toEqual(
        [
          "mandatory no-insecure-upstream customer-registry",
          "mandatory no-public-load-balancer-in-production pull-endpoint",
          "mandatory replicas-need-s3-and-postgres registry",
          "mandatory replicas-need-s3-and-postgres registry",
          "mandatory robots-must-expire ci",
          "mandatory production-projects-gate-pulls production",
          "mandatory production-projects-gate-pulls production",
          "mandatory tls-everywhere customer-registry",
          "mandatory tls-everywhere registry",
          "mandatory tls-everywhere registry",
          "mandatory webhooks-verified-and-authenticated security-team",
          "mandatory webhooks-verified-and-authenticated security-team",
          "mandatory webhooks-verified-and-authenticated security-team",
        ].sort(),
      );
      // Each message says why and what to do, after the policy's description.
      expect(violations(events).map((v) => v.message)).toContainEqual(
        expect.stringContaining("robot account ci never expires: give it a duration in days (at most 365)"),
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "passes the preview of the same resources keeping every rule",
    async () => {
      await test.stack.setConfig("airlock:breakRules", { value: "false" });
      const events: EngineEvent[] = [];
      const result = await test.stack.preview({ policyPacks: [POLICY_PACK], onEvent: (event) => events.push(event) });
      expect(violations(events)).toEqual([]);
      expect(result.changeSummary).toMatchObject({ create: 10 });
    },
    STEP_TIMEOUT_MS,
  );
});
