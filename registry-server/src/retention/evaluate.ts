// What a retention policy keeps and removes among a project's artifacts: a pure function, so that
// a run and a dry run are the same computation and the job only deletes what `removed` lists.
// It reproduces Harbor's execution, step by step:
//
//   1. Launch (src/pkg/retention/launcher.go): disabled rules are skipped; each enabled rule picks
//      repositories with its repository selectors, applied in turn (an empty list picks all).
//      A repository no enabled rule picked is not touched, so a policy without (enabled) rules
//      keeps everything. Each picked repository is one task, run with the rules that picked it.
//   2. Per repository (job.go, policy/builder.go, alg/or/processor.go): a rule filters the
//      repository's artifacts with its tag selectors, applied in turn, then its template keeps
//      some of them (rule-templates.ts). Harbor drops a rule without tag selectors; when a task is
//      left with none, nothing is processed and the repository keeps everything.
//   3. Retain (action/performer/performer.go): an artifact kept by any rule ("or") stays with all
//      its tags; every other artifact of the task is deleted, unless it is immutable, which Harbor
//      reports as an error and counts as retained. Airlock adds pins: a pinned artifact stays.
//
// A candidate is one artifact (Harbor's selector.Candidate: a manifest and its tags, untagged ones
// included): what Harbor lists for a repository, so not the children of an index nor accessories,
// which go with their parent. Its `repository` is the name without the project, what Harbor's
// selectors see; `immutable` is the caller's answer from isArtifactImmutable (immutability/).
// Harbor's immutable check in the retention job strips one more path segment from nested names, a
// bug not reproduced. A selector Harbor cannot run fails like Harbor: a repository selector fails
// the whole evaluation (SelectorError thrown, as the launch fails), a tag selector fails only its
// repository's task, which then deletes nothing.

import { GO_ZERO_TIME, RULE_TEMPLATES, templateValue, type RuleTemplate } from "./rule-templates.ts";
import type { RetentionPolicy, RetentionRule } from "./retention-policy.ts";
import { SelectorError, selectsRepository, selectsTags, untaggedFlag } from "./selector.ts";

export interface RetentionCandidate {
  /** The repository's name without its project: "team/app" for library/team/app. */
  readonly repository: string;
  readonly digest: string;
  readonly pushedAt: Date;
  /** Undefined when never pulled. */
  readonly pulledAt?: Date | undefined;
  /** Each tag with the time it last moved here (the push time is the latest of all). */
  readonly tags: ReadonlyArray<{ readonly name: string; readonly pushedAt?: Date }>;
  readonly immutable?: boolean;
  /** Airlock's pins (preheat, API): any pin keeps the artifact whatever the rules say. */
  readonly pins?: readonly string[];
}

/**
 * - retained: a rule kept it; removed: no rule did, so the job deletes it;
 * - immutable / pinned: no rule kept it, but it cannot be deleted;
 * - untouched: no enabled rule picked its repository (no task);
 * - not-processed: its task had no rule with tag selectors; failed: its task failed.
 */
export type RetentionOutcome =
  "retained" | "removed" | "immutable" | "pinned" | "untouched" | "not-processed" | "failed";

/** Why a rule that looked at an artifact did not keep it: its tag selectors, or its template. */
export interface RuleMiss {
  /** Index in policy.rules. */
  readonly rule: number;
  readonly ruleId: number;
  readonly template: string;
  readonly reason: "tag-selectors" | "template";
}

export interface RetentionVerdict<C> {
  readonly candidate: C;
  readonly outcome: RetentionOutcome;
  /** Indexes in policy.rules of the rules that kept it. */
  readonly keptBy: readonly number[];
  /** For an artifact no rule kept: each of its task's rules and why it did not keep it. */
  readonly misses: readonly RuleMiss[];
}

/** One repository's task, as Harbor's execution lists it (GET .../executions/{eid}/tasks). */
export interface RetentionTask {
  readonly repository: string;
  /** Indexes in policy.rules of the rules that picked the repository. */
  readonly rules: readonly number[];
  readonly total: number;
  /** Artifacts not deleted (Harbor counts immutable ones as retained). */
  readonly retained: number;
  readonly error?: string;
}

export interface RetentionEvaluation<C> {
  /** Every candidate that stays, in the order given, whatever the reason. */
  readonly retained: ReadonlyArray<RetentionVerdict<C>>;
  /** What the job deletes, in the order given; each says which rules missed it and why. */
  readonly removed: ReadonlyArray<RetentionVerdict<C>>;
  readonly tasks: readonly RetentionTask[];
}

interface Timed<C> {
  readonly candidate: C;
  readonly pushed: number;
  readonly pulled: number;
  readonly tags: readonly string[];
}

export function evaluateRetention<C extends RetentionCandidate>(
  policy: RetentionPolicy,
  candidates: readonly C[],
  now: Date,
): RetentionEvaluation<C> {
  const byRepository = new Map<string, Array<Timed<C>>>();
  for (const candidate of candidates) {
    const list = byRepository.get(candidate.repository) ?? [];
    list.push(timed(candidate));
    byRepository.set(candidate.repository, list);
  }
  const picked = pickRepositories(policy.rules, [...byRepository.keys()]);
  const verdicts = new Map<C, RetentionVerdict<C>>();
  const tasks: RetentionTask[] = [];
  for (const [repository, artifacts] of byRepository) {
    const rules = picked.get(repository);
    if (!rules) {
      for (const { candidate } of artifacts) verdicts.set(candidate, verdict(candidate, "untouched"));
      continue;
    }
    const task = runTask(policy.rules, rules, artifacts, now);
    for (const v of task.verdicts) verdicts.set(v.candidate, v);
    const removed = task.verdicts.filter((v) => v.outcome === "removed").length;
    tasks.push({ repository, rules, total: artifacts.length, retained: artifacts.length - removed, ...task.failure });
  }
  const all = candidates.map((candidate) => verdicts.get(candidate) ?? verdict(candidate, "untouched"));
  return {
    retained: all.filter((v) => v.outcome !== "removed"),
    removed: all.filter((v) => v.outcome === "removed"),
    tasks,
  };
}

/** The launcher: for each repository, the indexes of the enabled rules whose scope picks it. */
function pickRepositories(rules: readonly RetentionRule[], repositories: readonly string[]): Map<string, number[]> {
  const picked = new Map<string, number[]>();
  for (const [index, rule] of rules.entries()) {
    if (rule.disabled) continue;
    let chosen = repositories;
    for (const selector of rule.scope_selectors["repository"] ?? []) {
      chosen = chosen.filter((repository) => selectsRepository(selector, repository));
    }
    for (const repository of chosen) picked.set(repository, [...(picked.get(repository) ?? []), index]);
  }
  return picked;
}

function runTask<C extends RetentionCandidate>(
  rules: readonly RetentionRule[],
  picked: readonly number[],
  artifacts: ReadonlyArray<Timed<C>>,
  now: Date,
): { verdicts: Array<RetentionVerdict<C>>; failure?: { error: string } } {
  const fail = (error: string) => ({
    verdicts: artifacts.map((a) => verdict(a.candidate, "failed")),
    failure: { error },
  });
  // Harbor builds every rule's evaluator before processing: an unknown template fails the task.
  const unknown = picked.map((index) => rules[index]?.template ?? "").find((id) => !RULE_TEMPLATES.has(id));
  if (unknown !== undefined) return fail(`rule evaluator ${unknown} is not registered`);
  const effective = picked.filter((index) => (rules[index]?.tag_selectors.length ?? 0) > 0);
  if (effective.length === 0) return { verdicts: artifacts.map((a) => verdict(a.candidate, "not-processed")) };
  const keptBy = new Map<Timed<C>, number[]>();
  const misses = new Map<Timed<C>, RuleMiss[]>();
  for (const index of effective) {
    const rule = rules[index] as RetentionRule;
    const template = RULE_TEMPLATES.get(rule.template) as RuleTemplate;
    let selected: ReadonlyArray<Timed<C>> = artifacts;
    try {
      for (const selector of rule.tag_selectors) {
        const untagged = untaggedFlag(selector.decoration, selector.extras);
        selected = selected.filter((a) => selectsTags(selector, untagged, a.tags));
      }
    } catch (error) {
      if (error instanceof SelectorError) return fail(error.message);
      throw error;
    }
    const kept = new Set(template.keep(selected, templateValue(template, rule.params), now));
    const chosen = new Set(selected);
    for (const artifact of artifacts) {
      if (kept.has(artifact)) {
        keptBy.set(artifact, [...(keptBy.get(artifact) ?? []), index]);
      } else {
        const reason = chosen.has(artifact) ? "template" : "tag-selectors";
        const miss: RuleMiss = { rule: index, ruleId: rule.id, template: rule.template, reason };
        misses.set(artifact, [...(misses.get(artifact) ?? []), miss]);
      }
    }
  }
  const verdicts = artifacts.map((artifact): RetentionVerdict<C> => {
    const { candidate } = artifact;
    const rulesKeeping = keptBy.get(artifact) ?? [];
    if (rulesKeeping.length > 0) return { candidate, outcome: "retained", keptBy: rulesKeeping, misses: [] };
    const outcome = candidate.immutable ? "immutable" : (candidate.pins?.length ?? 0) > 0 ? "pinned" : "removed";
    return { candidate, outcome, keptBy: [], misses: misses.get(artifact) ?? [] };
  });
  return { verdicts };
}

function verdict<C>(candidate: C, outcome: RetentionOutcome): RetentionVerdict<C> {
  return { candidate, outcome, keptBy: [], misses: [] };
}

/** Harbor's candidate times: Unix seconds, the push the latest of the artifact's and its tags'. */
function timed<C extends RetentionCandidate>(candidate: C): Timed<C> {
  const pushedMs = candidate.tags.reduce(
    (latest, tag) => Math.max(latest, tag.pushedAt?.getTime() ?? latest),
    candidate.pushedAt.getTime(),
  );
  return {
    candidate,
    pushed: Math.floor(pushedMs / 1000),
    pulled: candidate.pulledAt ? Math.floor(candidate.pulledAt.getTime() / 1000) : GO_ZERO_TIME,
    tags: candidate.tags.map((tag) => tag.name),
  };
}
