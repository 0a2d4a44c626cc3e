// What a policy keeps and removes, following Harbor's launcher, processor and retain performer:
// per-repository tasks, rules combined with "or", untagged artifacts through the `untagged` extra,
// disabled rules, immutable and pinned artifacts, and the failures that delete nothing.

import { describe, expect, it } from "vitest";
import { evaluateRetention, type RetentionCandidate, type RetentionVerdict } from "../../src/retention/evaluate.ts";
import type { RetentionPolicy, RetentionRule, RetentionSelector } from "../../src/retention/retention-policy.ts";
import { SelectorError } from "../../src/retention/selector.ts";

const NOW = new Date("2026-03-10T12:00:00Z");
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

interface Artifact extends RetentionCandidate {
  readonly name: string;
}

function artifact(
  name: string,
  tags: readonly string[],
  pushedDaysAgo: number,
  more: Partial<Omit<Artifact, "name" | "tags">> = {},
): Artifact {
  return {
    name,
    repository: "app",
    digest: `sha256:${name}`,
    pushedAt: daysAgo(pushedDaysAgo),
    tags: tags.map((tag) => ({ name: tag, pushedAt: daysAgo(pushedDaysAgo) })),
    ...more,
  };
}

const tagSelector = (decoration: string, pattern: string, extras = ""): RetentionSelector => ({
  kind: "doublestar",
  decoration,
  pattern,
  extras,
});
const repoSelector = (decoration: string, pattern: string) => tagSelector(decoration, pattern);
const TAGGED_ONLY = '{"untagged":false}';
const WITH_UNTAGGED = '{"untagged":true}';

function rule(
  template: string,
  params: Record<string, unknown>,
  options: { tags?: RetentionSelector[]; repos?: RetentionSelector[]; disabled?: boolean; id?: number } = {},
): RetentionRule {
  return {
    id: options.id ?? 0,
    priority: 0,
    disabled: options.disabled ?? false,
    action: "retain",
    template,
    params,
    tag_selectors: options.tags ?? [tagSelector("matches", "**", TAGGED_ONLY)],
    scope_selectors: { repository: options.repos ?? [repoSelector("repoMatches", "**")] },
  };
}

function policy(...rules: RetentionRule[]): RetentionPolicy {
  return {
    id: 1,
    algorithm: "or",
    rules,
    trigger: { kind: "Schedule", settings: { cron: "" } },
    scope: { level: "project", ref: 1 },
  };
}

const names = (verdicts: ReadonlyArray<RetentionVerdict<Artifact>>) => verdicts.map((v) => v.candidate.name);
const outcomes = (verdicts: ReadonlyArray<RetentionVerdict<Artifact>>) =>
  Object.fromEntries(verdicts.map((v) => [v.candidate.name, v.outcome]));

describe("evaluateRetention", () => {
  it("keeps the most recently pushed per repository and says why the others go", () => {
    const web = artifact("w1", ["1.0"], 10, { repository: "web" });
    const candidates = [artifact("a1", ["v1"], 4), artifact("a2", ["v2"], 3), artifact("a3", ["v3"], 2), web];
    const result = evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 2 }, { id: 7 })), candidates, NOW);
    expect(names(result.retained)).toEqual(["a2", "a3", "w1"]);
    expect(names(result.removed)).toEqual(["a1"]);
    expect(result.removed[0]?.misses).toEqual([{ rule: 0, ruleId: 7, template: "latestPushedK", reason: "template" }]);
    expect(result.retained.map((v) => v.keptBy)).toEqual([[0], [0], [0]]);
    expect(result.tasks).toEqual([
      { repository: "app", rules: [0], total: 3, retained: 2 },
      { repository: "web", rules: [0], total: 1, retained: 1 },
    ]);
  });

  it.each([
    ["untagged left out", TAGGED_ONLY, ["t1", "t2"], ["u1"]],
    ["untagged included", WITH_UNTAGGED, ["t1", "t2", "u1"], []],
    ["matches' default (untagged included)", "", ["t1", "t2", "u1"], []],
  ])("pulled within 7 days, %s", (_, extras, retained, removed) => {
    const candidates = [
      artifact("t1", ["1.0"], 30, { pulledAt: daysAgo(1) }),
      artifact("t2", ["1.1"], 30, { pulledAt: daysAgo(2) }),
      artifact("u1", [], 30, { pulledAt: daysAgo(1) }),
    ];
    const tags = [tagSelector("matches", "**", extras)];
    const result = evaluateRetention(
      policy(rule("nDaysSinceLastPull", { nDaysSinceLastPull: 7 }, { tags })),
      candidates,
      NOW,
    );
    expect(names(result.retained)).toEqual(retained);
    expect(names(result.removed)).toEqual(removed);
    for (const verdict of result.removed) expect(verdict.misses.map((m) => m.reason)).toEqual(["tag-selectors"]);
  });

  it.each([
    ["untagged kept by default", "", ["rel", "mixed", "bare"], ["dev"]],
    ["untagged excluded too", WITH_UNTAGGED, ["rel", "mixed"], ["dev", "bare"]],
  ])("always, excluding dev-*: %s", (_, extras, retained, removed) => {
    const candidates = [
      artifact("rel", ["1.0"], 1),
      artifact("dev", ["dev-1"], 1),
      artifact("mixed", ["dev-2", "1.1"], 1),
      artifact("bare", [], 1),
    ];
    const tags = [tagSelector("excludes", "dev-*", extras)];
    const result = evaluateRetention(policy(rule("always", {}, { tags })), candidates, NOW);
    expect(names(result.retained)).toEqual(retained);
    expect(names(result.removed)).toEqual(removed);
  });

  it("unions what each rule keeps ('or') and lists every rule that missed a removed artifact", () => {
    const candidates = [
      artifact("p1", ["a"], 30, { pulledAt: daysAgo(1) }),
      artifact("p2", ["b"], 2),
      artifact("p3", ["c"], 5),
    ];
    const result = evaluateRetention(
      policy(
        rule("nDaysSinceLastPull", { nDaysSinceLastPull: 7 }, { id: 1 }),
        rule("latestPushedK", { latestPushedK: 1 }, { id: 2 }),
      ),
      candidates,
      NOW,
    );
    expect(result.retained.map((v) => [v.candidate.name, v.keptBy])).toEqual([
      ["p1", [0]],
      ["p2", [1]],
    ]);
    expect(names(result.removed)).toEqual(["p3"]);
    expect(result.removed[0]?.misses).toEqual([
      { rule: 0, ruleId: 1, template: "nDaysSinceLastPull", reason: "template" },
      { rule: 1, ruleId: 2, template: "latestPushedK", reason: "template" },
    ]);
  });

  it("keeps an artifact whole when one of its tags is kept", () => {
    const shared = artifact("shared", ["harbor-1.8", "harbor-release", "harbor-nightly", "harbor-latest"], 1);
    const candidates = [shared, artifact("old", ["harbor-old"], 9), artifact("other", ["release"], 0)];
    const tags = [tagSelector("matches", "harbor-*", TAGGED_ONLY)];
    const result = evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 1 }, { tags })), candidates, NOW);
    expect(outcomes(result.retained.concat(result.removed))).toEqual({
      shared: "retained",
      old: "removed",
      other: "removed",
    });
  });

  it("takes an artifact's push time as the latest of its own and its tags'", () => {
    const retagged = { ...artifact("retagged", ["stable"], 40), tags: [{ name: "stable", pushedAt: daysAgo(1) }] };
    const candidates = [retagged, artifact("stale", ["old"], 40)];
    const result = evaluateRetention(policy(rule("nDaysSinceLastPush", { nDaysSinceLastPush: 7 })), candidates, NOW);
    expect(names(result.retained)).toEqual(["retagged"]);
    expect(names(result.removed)).toEqual(["stale"]);
  });

  it("ranks artifacts never pulled last for latestPulledN", () => {
    const candidates = [artifact("never", ["a"], 0), artifact("long-ago", ["b"], 90, { pulledAt: daysAgo(80) })];
    const result = evaluateRetention(policy(rule("latestPulledN", { latestPulledN: 1 })), candidates, NOW);
    expect(names(result.retained)).toEqual(["long-ago"]);
  });

  it("leaves everything when the policy has no rules or only disabled ones", () => {
    const candidates = [artifact("a", ["1"], 100), artifact("b", [], 100)];
    for (const rules of [[], [rule("latestPushedK", { latestPushedK: 0 }, { disabled: true })]]) {
      const result = evaluateRetention(policy(...rules), candidates, NOW);
      expect(result.removed).toEqual([]);
      expect(result.tasks).toEqual([]);
      expect(outcomes(result.retained)).toEqual({ a: "untouched", b: "untouched" });
    }
  });

  it("skips a disabled rule among enabled ones", () => {
    const candidates = [artifact("new", ["2"], 1), artifact("old", ["1"], 5)];
    const result = evaluateRetention(
      policy(rule("always", {}, { disabled: true }), rule("latestPushedK", { latestPushedK: 1 })),
      candidates,
      NOW,
    );
    expect(names(result.removed)).toEqual(["old"]);
    expect(result.tasks.map((t) => t.rules)).toEqual([[1]]);
  });

  it("touches only the repositories a rule's selectors pick, applied in turn", () => {
    const at = (name: string, repository: string, days: number) => artifact(name, [name], days, { repository });
    const candidates = [at("t1", "team/app", 1), at("t2", "team/app", 2), at("o1", "other", 1), at("o2", "other", 2)];
    const only = (repos: RetentionSelector[]) =>
      evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 1 }, { repos })), candidates, NOW);

    expect(names(only([repoSelector("repoMatches", "team/*")]).removed)).toEqual(["t2"]);
    expect(outcomes(only([repoSelector("repoMatches", "team/*")]).retained)).toMatchObject({
      o1: "untouched",
      o2: "untouched",
    });
    expect(names(only([repoSelector("repoExcludes", "team/*")]).removed)).toEqual(["o2"]);
    expect(names(only([repoSelector("repoMatches", "*")]).removed)).toEqual(["o2"]);
    expect(names(only([repoSelector("repoMatches", "**"), repoSelector("repoExcludes", "other")]).removed)).toEqual([
      "t2",
    ]);
    expect(names(only([]).removed)).toEqual(["t2", "o2"]);
  });

  it("runs each repository with the rules that picked it", () => {
    const candidates = [
      artifact("a1", ["1"], 1),
      artifact("a2", ["2"], 2),
      artifact("w1", ["1"], 1, { repository: "web" }),
      artifact("w2", ["2"], 2, { repository: "web" }),
    ];
    const result = evaluateRetention(
      policy(
        rule("always", {}, { repos: [repoSelector("repoMatches", "app")] }),
        rule("latestPushedK", { latestPushedK: 1 }),
      ),
      candidates,
      NOW,
    );
    expect(names(result.removed)).toEqual(["w2"]);
    expect(result.tasks.map((t) => [t.repository, t.rules])).toEqual([
      ["app", [0, 1]],
      ["web", [1]],
    ]);
  });

  it("applies a rule's tag selectors in turn", () => {
    const candidates = [
      artifact("v1", ["v1"], 3),
      artifact("v2", ["v2"], 2),
      artifact("v3-rc", ["v3-rc"], 1),
      artifact("latest", ["latest"], 0),
    ];
    const tags = [tagSelector("matches", "v*", TAGGED_ONLY), tagSelector("excludes", "*-rc", WITH_UNTAGGED)];
    const result = evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 10 }, { tags })), candidates, NOW);
    expect(names(result.retained)).toEqual(["v1", "v2"]);
    expect(names(result.removed)).toEqual(["v3-rc", "latest"]);
  });

  it("never removes an immutable or a pinned artifact, and counts them as retained", () => {
    const candidates = [
      artifact("newest", ["3"], 1, { immutable: true }),
      artifact("locked", ["2"], 2, { immutable: true }),
      artifact("pinned", ["1"], 3, { pins: ["preheat"] }),
      artifact("free", ["0"], 4, { pins: [] }),
    ];
    const result = evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 1 })), candidates, NOW);
    expect(outcomes(result.retained)).toEqual({ newest: "retained", locked: "immutable", pinned: "pinned" });
    expect(names(result.removed)).toEqual(["free"]);
    expect(result.retained.find((v) => v.candidate.name === "locked")?.misses).toHaveLength(1);
    expect(result.tasks).toEqual([{ repository: "app", rules: [0], total: 4, retained: 3 }]);
  });

  it("drops a rule without tag selectors, as Harbor's processor does", () => {
    const candidates = [artifact("new", ["2"], 1), artifact("old", ["1"], 5)];
    const bare = { ...rule("always", {}), tag_selectors: [] };
    const alone = evaluateRetention(policy(bare), candidates, NOW);
    expect(alone.removed).toEqual([]);
    expect(outcomes(alone.retained)).toEqual({ new: "not-processed", old: "not-processed" });
    expect(alone.tasks).toEqual([{ repository: "app", rules: [0], total: 2, retained: 2 }]);

    const withAnother = evaluateRetention(policy(bare, rule("latestPushedK", { latestPushedK: 1 })), candidates, NOW);
    expect(names(withAnother.removed)).toEqual(["old"]);
  });

  it("fails only the task whose tag selector or template Harbor cannot run, deleting nothing there", () => {
    const candidates = [
      artifact("a1", ["1"], 1),
      artifact("a2", ["2"], 2),
      artifact("w1", ["1"], 1, { repository: "web" }),
    ];
    const broken = rule(
      "latestPushedK",
      { latestPushedK: 0 },
      {
        repos: [repoSelector("repoMatches", "app")],
        tags: [tagSelector("matches", "[")],
      },
    );
    const result = evaluateRetention(
      policy(broken, rule("latestPushedK", { latestPushedK: 0 }, { repos: [repoSelector("repoMatches", "web")] })),
      candidates,
      NOW,
    );
    expect(outcomes(result.retained)).toEqual({ a1: "failed", a2: "failed" });
    expect(names(result.removed)).toEqual(["w1"]);
    expect(result.tasks[0]).toEqual({
      repository: "app",
      rules: [0],
      total: 2,
      retained: 2,
      error: 'syntax error in pattern "["',
    });

    const bareUnknown = { ...rule("latestPushedX", {}), tag_selectors: [] };
    expect(evaluateRetention(policy(bareUnknown), candidates, NOW).tasks[0]?.error).toBe(
      "rule evaluator latestPushedX is not registered",
    );
    const unknown = evaluateRetention(policy(rule("latestPushedX", {})), candidates, NOW);
    expect(unknown.removed).toEqual([]);
    expect(unknown.tasks.map((t) => t.error)).toEqual([
      "rule evaluator latestPushedX is not registered",
      "rule evaluator latestPushedX is not registered",
    ]);
  });

  it("fails the whole evaluation on a repository selector Harbor cannot run", () => {
    const candidates = [artifact("a1", ["1"], 1)];
    const broken = rule("always", {}, { repos: [repoSelector("repoMatches", "{app")] });
    expect(() => evaluateRetention(policy(broken), candidates, NOW)).toThrow(SelectorError);
  });

  it("returns verdicts in the order the candidates came, across repositories", () => {
    const candidates = [
      artifact("w-old", ["1"], 9, { repository: "web" }),
      artifact("a-new", ["1"], 1),
      artifact("w-new", ["2"], 1, { repository: "web" }),
      artifact("a-old", ["2"], 9),
    ];
    const result = evaluateRetention(policy(rule("latestPushedK", { latestPushedK: 1 })), candidates, NOW);
    expect(names(result.retained)).toEqual(["a-new", "w-new"]);
    expect(names(result.removed)).toEqual(["w-old", "a-old"]);
  });
});
