// A project's tag retention policy (Harbor's `/retentions`), with rules in words rather than
// Harbor's templates: `{ keepLatestPushed: 10 }` is a rule of template latestPushedK with params
// { latestPushedK: 10 }. A project has one policy, and Harbor's PUT replaces the whole of it, so
// the resource is the whole policy too: every update sends every rule and the schedule.
//
// - Schedules are normalised to the six-field cron the registry stores (./schedule.ts): "Daily",
//   "daily" and "0 0 0 * * *" are one input, so refresh shows no perpetual diff.
// - Create adopts the project's policy when it has one (`retention_id` in its metadata: a
//   proxy-cache project gets Harbor's default expiry when it is created) by replacing it, and
//   creates one otherwise. A project has one policy: declaring it takes it over, whoever made it.
// - Delete removes the policy, except on a proxy-cache project, which gets Harbor's default back
//   (artifacts not pulled for 7 days go, daily): Harbor gives every proxy-cache project that
//   policy, and without one its cache would only grow.
// - `read` maps the live policy back to these inputs, so rules or a schedule changed by hand show
//   in `pulumi refresh` and the next `up` puts the declared policy back. A live rule the inputs
//   cannot say (another template, several selectors) is reported as `{ harborRule: <its JSON> }`,
//   which differs from every declared rule.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, createdId, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import {
  MATCH_ALL,
  harborSelector,
  normaliseSelector,
  selectorFromHarbor,
  type PatternSelector,
} from "./pattern-selector";
import { liveSchedule, normaliseSchedule, SCHEDULE_TYPE_CRON } from "./schedule";
import { declaredBy, declaredProvider } from "./declaration";

/** One rule: exactly one of the `keep…` keys or `always`, and which artifacts it looks at. */
export interface RetentionRuleArgs {
  /** Keep the n most recently pushed artifacts (Harbor's latestPushedK). */
  keepLatestPushed?: number;
  /** Keep the n most recently pulled artifacts (latestPulledN). */
  keepLatestPulled?: number;
  /** Keep what was pushed within the last n days (nDaysSinceLastPush). */
  keepPushedWithinDays?: number;
  /** Keep what was pulled within the last n days (nDaysSinceLastPull). */
  keepPulledWithinDays?: number;
  /** Keep every artifact the rule selects (always). */
  always?: boolean;
  /** Repositories the rule looks at, by name without the project. Default `{ matches: "**" }`. */
  repositories?: PatternSelector;
  /** Tags the rule looks at. Default `{ matches: "**" }`. */
  tags?: PatternSelector;
  /**
   * Whether the rule also looks at artifacts without a tag (Harbor's "untagged artifacts").
   * Default false: an untagged artifact is removed unless another rule keeps it.
   */
  untagged?: boolean;
  /** A disabled rule keeps nothing. Default false. */
  disabled?: boolean;
}

/** A rule as the inputs hold it once checked: defaults filled in. */
export interface RetentionRule {
  keepLatestPushed?: number;
  keepLatestPulled?: number;
  keepPushedWithinDays?: number;
  keepPulledWithinDays?: number;
  always?: true;
  repositories: PatternSelector;
  tags: PatternSelector;
  untagged: boolean;
  disabled: boolean;
}

/** A live rule the inputs cannot say, as `read` reports it. */
export interface UnrepresentableRule {
  /** The rule's JSON as the registry answered it. */
  harborRule: string;
}

export interface RetentionPolicyArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The project's name. */
  project: pulumi.Input<string>;
  /** What to keep, 1 to 15 rules; an artifact no enabled rule keeps is removed when the policy runs. */
  rules: pulumi.Input<pulumi.Input<RetentionRuleArgs>[]>;
  /**
   * When the policy runs: Hourly, Daily or Weekly (any case), a six-field cron (seconds first,
   * e.g. "0 0 3 * * *"), or "None" to run it only by hand.
   */
  schedule: pulumi.Input<string>;
}

export interface RetentionPolicyInputs {
  connection: RegistryConnection;
  project: string;
  rules: Array<RetentionRule | UnrepresentableRule>;
  /** A six-field cron; "" for no schedule. */
  schedule: string;
}

export interface RetentionPolicyOutputs extends RetentionPolicyInputs {
  policyId: number;
  projectId: number;
}

/** Harbor's limit on a policy's rules. */
export const MAX_RETENTION_RULES = 15;

/** Harbor's largest count (below math.MaxInt16) and number of days a rule may keep. */
export const MAX_RETENTION_COUNT = 32_766;
export const MAX_RETENTION_DAYS = 20_190_904;

/** Each `keep…` key, the Harbor template it stands for, and the largest value Harbor accepts. */
const TEMPLATES = [
  { key: "keepLatestPushed", template: "latestPushedK", max: MAX_RETENTION_COUNT },
  { key: "keepLatestPulled", template: "latestPulledN", max: MAX_RETENTION_COUNT },
  { key: "keepPushedWithinDays", template: "nDaysSinceLastPush", max: MAX_RETENTION_DAYS },
  { key: "keepPulledWithinDays", template: "nDaysSinceLastPull", max: MAX_RETENTION_DAYS },
  { key: "always", template: "always", max: 0 },
] as const;

// An array, not a Set: the provider is serialised, and a Set does not survive it.
const RULE_KEYS: readonly string[] = [...TEMPLATES.map((t) => t.key), "repositories", "tags", "untagged", "disabled"];

/** Harbor's expiry of a proxy-cache project: days without a pull, checked daily. */
export const HARBOR_PROXY_EXPIRY_DAYS = 7;

/** The rules of a proxy cache's expiry: keep what was pulled within `days`, tagged or not. */
export function proxyExpiryRules(days: number): RetentionRule[] {
  return [
    {
      keepPulledWithinDays: days,
      repositories: { matches: "**" },
      tags: { matches: "**" },
      untagged: true,
      disabled: false,
    },
  ];
}

export interface RuleProblem {
  /** The rule's key at fault, when one is. */
  field?: string;
  message: string;
}

/** The rule once checked, or what is wrong with it (Harbor's rules for its templates and selectors). */
export function normaliseRule(value: unknown): { rule?: RetentionRule; problems: RuleProblem[] } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      problems: [{ message: `expected a rule such as { keepLatestPushed: 10 }, got ${JSON.stringify(value)}` }],
    };
  }
  const given = value as Record<string, unknown>;
  const problems: RuleProblem[] = [];
  for (const key of Object.keys(given)) {
    if (!RULE_KEYS.includes(key)) problems.push({ field: key, message: "unknown key" });
  }
  const chosen = TEMPLATES.filter((t) => given[t.key] !== undefined);
  const rule: RetentionRule = { repositories: MATCH_ALL, tags: MATCH_ALL, untagged: false, disabled: false };
  const only = chosen[0];
  if (chosen.length !== 1 || !only) {
    problems.push({
      message: `expected exactly one of ${TEMPLATES.map((t) => t.key).join(", ")}, got ${
        chosen.length === 0 ? "none" : chosen.map((t) => t.key).join(" and ")
      }`,
    });
  } else if (only.key === "always") {
    if (given["always"] !== true) problems.push({ field: "always", message: "expected true" });
    else rule.always = true;
  } else {
    const count = given[only.key];
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > only.max) {
      problems.push({
        field: only.key,
        message: `expected a whole number from 0 to ${only.max}, got ${JSON.stringify(count)}`,
      });
    } else {
      rule[only.key] = count;
    }
  }
  for (const key of ["repositories", "tags"] as const) {
    const selector = normaliseSelector(given[key], MATCH_ALL);
    if (selector.problem !== undefined) problems.push({ field: key, message: selector.problem });
    else rule[key] = selector.selector;
  }
  for (const key of ["untagged", "disabled"] as const) {
    const flag = given[key] ?? false;
    if (typeof flag !== "boolean")
      problems.push({ field: key, message: `expected true or false, got ${JSON.stringify(flag)}` });
    else rule[key] = flag;
  }
  return problems.length > 0 ? { problems } : { rule, problems };
}

/** Problems of a whole list of known rules: their count, and two rules alike (Harbor's 409). */
export function ruleListProblems(rules: readonly unknown[]): string[] {
  const problems: string[] = [];
  if (rules.length === 0) problems.push("expected at least one rule");
  if (rules.length > MAX_RETENTION_RULES)
    problems.push(`expected at most ${MAX_RETENTION_RULES} rules (Harbor's limit)`);
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    if (containsUnknown(rule)) return;
    const key = JSON.stringify(normaliseRule(rule).rule ?? null);
    const earlier = seen.get(key);
    if (earlier !== undefined && key !== "null") problems.push(`rules[${index}] is the same as rules[${earlier}]`);
    seen.set(key, index);
  });
  return problems;
}

/**
 * Validates the known inputs and normalises them as the registry keeps them. Unknown values (the
 * connection or the project in a preview, see ../unknowns.ts) are passed on as they are; a rule
 * holding an unknown is passed on whole and checked once known.
 */
export function checkRetentionPolicy(news: Record<string, unknown>): pulumi.dynamic.CheckResult<RetentionPolicyInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const project = news["project"];
  if (!isUnknown(project) && (typeof project !== "string" || project === "")) {
    fail("project", `expected a project name, got ${JSON.stringify(project)}`);
  }
  const given = news["rules"];
  let rules: Array<RetentionRule | UnrepresentableRule>;
  if (isUnknown(given)) {
    rules = given as RetentionRule[];
  } else if (!Array.isArray(given)) {
    rules = [];
    fail("rules", `expected a list of rules, got ${JSON.stringify(given)}`);
  } else {
    rules = given.map((item: unknown, index) => {
      if (containsUnknown(item)) return item as RetentionRule;
      const { rule, problems } = normaliseRule(item);
      for (const problem of problems) {
        fail("rules", `rules[${index}]${problem.field === undefined ? "" : `.${problem.field}`}: ${problem.message}`);
      }
      return rule ?? (item as RetentionRule);
    });
    for (const problem of ruleListProblems(given)) fail("rules", problem);
  }
  const schedule = keepUnknown(news["schedule"], (value) => {
    const normalised = normaliseSchedule(value, true);
    if (normalised.problem !== undefined) fail("schedule", normalised.problem);
    return normalised.cron ?? String(value);
  });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      project: keepUnknown(project, String),
      rules,
      schedule,
    },
    failures,
  };
}

/** Harbor's `untagged` flag for a tag selector: the decoration decides what it means. */
function untaggedFlag(rule: RetentionRule): boolean {
  return rule.tags.matches !== undefined ? rule.untagged : !rule.untagged;
}

/** The policy as Harbor's API carries it. */
export function retentionPolicyBody(
  rules: ReadonlyArray<RetentionRule | UnrepresentableRule>,
  schedule: string,
  projectId: number,
  policyId: number,
): Record<string, unknown> {
  return {
    id: policyId,
    algorithm: "or",
    rules: rules.map((rule, index) => {
      if ("harborRule" in rule) throw new Error("a rule read from the registry cannot be sent back");
      const template = TEMPLATES.find((t) => rule[t.key] !== undefined) ?? TEMPLATES[4];
      return {
        id: index + 1,
        priority: 0,
        disabled: rule.disabled,
        action: "retain",
        template: template.template,
        params: template.key === "always" ? {} : { [template.template]: rule[template.key] },
        tag_selectors: [
          { ...harborSelector(rule.tags, "tags"), extras: JSON.stringify({ untagged: untaggedFlag(rule) }) },
        ],
        scope_selectors: { repository: [harborSelector(rule.repositories, "repositories")] },
      };
    }),
    trigger: { kind: "Schedule", settings: { cron: schedule } },
    scope: { level: "project", ref: projectId },
  };
}

interface LiveSelector {
  kind?: unknown;
  decoration?: unknown;
  pattern?: unknown;
  extras?: unknown;
}

interface LiveRule {
  id?: unknown;
  priority?: unknown;
  disabled?: unknown;
  action?: unknown;
  template?: unknown;
  params?: Record<string, unknown>;
  tag_selectors?: LiveSelector[] | null;
  scope_selectors?: Record<string, LiveSelector[] | null> | null;
}

/** Harbor's doublestar.New: a tag selector's untagged flag from its decoration and extras. */
function liveUntaggedFlag(selector: LiveSelector): boolean {
  const fallback = selector.decoration !== "excludes";
  if (typeof selector.extras !== "string" || selector.extras === "") return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(selector.extras);
  } catch {
    return fallback;
  }
  if (parsed === null) return false;
  if (typeof parsed !== "object" || Array.isArray(parsed)) return fallback;
  const field: unknown = Object.entries(parsed as Record<string, unknown>).find(
    ([key]) => key.toLowerCase() === "untagged",
  )?.[1];
  if (field === undefined || field === null) return false;
  return typeof field === "boolean" ? field : fallback;
}

/** A live rule as the inputs say it, or as `{ harborRule }` when they cannot. */
export function ruleFromHarbor(live: LiveRule): RetentionRule | UnrepresentableRule {
  const { id: _id, priority: _priority, ...rest } = live;
  const unrepresentable = { harborRule: JSON.stringify(rest) };
  const template = TEMPLATES.find((t) => t.template === live.template);
  const tagSelectors = live.tag_selectors ?? [];
  const scopes = Object.entries(live.scope_selectors ?? {}).filter(([, list]) => (list ?? []).length > 0);
  const repositorySelectors = live.scope_selectors?.["repository"] ?? [];
  if (!template || live.action !== "retain" || tagSelectors.length !== 1 || scopes.length > 1) return unrepresentable;
  if (scopes.length === 1 && (scopes[0]?.[0] !== "repository" || repositorySelectors.length !== 1))
    return unrepresentable;
  const tagSelector = tagSelectors[0] ?? {};
  const tags = selectorFromHarbor(tagSelector, "tags");
  // No repository selector selects every repository.
  const repositories = repositorySelectors[0] ? selectorFromHarbor(repositorySelectors[0], "repositories") : MATCH_ALL;
  if (!tags || !repositories) return unrepresentable;
  const rule: RetentionRule = {
    repositories,
    tags,
    untagged: tags.matches !== undefined ? liveUntaggedFlag(tagSelector) : !liveUntaggedFlag(tagSelector),
    disabled: live.disabled === true,
  };
  if (template.key === "always") {
    rule.always = true;
  } else {
    const value = live.params?.[template.template];
    if (typeof value !== "number" || !Number.isInteger(value)) return unrepresentable;
    rule[template.key] = value;
  }
  return rule;
}

interface LiveProject {
  projectId: number;
  retentionId?: number;
  proxy: boolean;
}

/** The project by name or id; undefined when it is gone. */
async function liveProject(connection: RegistryConnection, project: string | number): Promise<LiveProject | undefined> {
  const reply = await apiRequest(connection, "GET", `/projects/${encodeURIComponent(String(project))}`);
  if (reply.status === 404) return undefined;
  const body = expectStatus(reply, `reading project ${project}`, 200).body as {
    project_id: number;
    registry_id?: number | null;
    metadata?: Record<string, string>;
  };
  const retentionId = Number(body.metadata?.["retention_id"]);
  return {
    projectId: body.project_id,
    ...(Number.isInteger(retentionId) && retentionId > 0 && { retentionId }),
    proxy: typeof body.registry_id === "number" && body.registry_id > 0,
  };
}

export const retentionPolicyProvider: pulumi.dynamic.ResourceProvider<RetentionPolicyInputs, RetentionPolicyOutputs> = {
  async check(_olds, news) {
    return checkRetentionPolicy(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = olds.project !== news.project ? ["project"] : [];
    const changes =
      replaces.length > 0 ||
      olds.schedule !== news.schedule ||
      JSON.stringify(olds.rules) !== JSON.stringify(news.rules) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const project = await liveProject(inputs.connection, inputs.project);
    if (!project) throw new Error(`retention policy: project ${inputs.project} not found`);
    let policyId: number | undefined;
    if (project.retentionId !== undefined) {
      // The project's own policy (a proxy-cache project's default): replaced whole.
      const body = retentionPolicyBody(inputs.rules, inputs.schedule, project.projectId, project.retentionId);
      const reply = await apiRequest(inputs.connection, "PUT", `/retentions/${project.retentionId}`, body);
      if (reply.status !== 404) {
        expectStatus(reply, `replacing the retention policy of ${inputs.project}`, 200);
        policyId = project.retentionId;
      }
    }
    if (policyId === undefined) {
      const body = retentionPolicyBody(inputs.rules, inputs.schedule, project.projectId, 0);
      const reply = await apiRequest(inputs.connection, "POST", "/retentions", body);
      const what = `creating the retention policy of ${inputs.project}`;
      policyId = createdId(expectStatus(reply, what, 201), what);
    }
    return { id: String(policyId), outs: { ...inputs, policyId, projectId: project.projectId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    // A policy whose project is gone, or that is gone itself: an empty id tells the engine.
    if (!(await liveProject(props.connection, props.projectId))) return { id: "", props };
    const reply = await apiRequest(props.connection, "GET", `/retentions/${id}`);
    if (reply.status === 404) return { id: "", props };
    const live = expectStatus(reply, `reading retention policy ${id}`, 200).body as {
      rules?: LiveRule[] | null;
      trigger?: { settings?: { cron?: unknown } | null } | null;
    };
    const inputs: RetentionPolicyInputs = {
      connection: props.connection,
      project: props.project,
      rules: (live.rules ?? []).map(ruleFromHarbor),
      schedule: liveSchedule(live.trigger?.settings?.cron, true),
    };
    return {
      id,
      props: { ...inputs, policyId: Number(id), projectId: props.projectId },
      inputs: readInputs<RetentionPolicyOutputs>(inputs),
    };
  },

  async update(id, olds, news) {
    const body = retentionPolicyBody(news.rules, news.schedule, olds.projectId, Number(id));
    const reply = await apiRequest(news.connection, "PUT", `/retentions/${id}`, body);
    const gone = reply.status === 404 ? " (it is gone: run `pulumi refresh`, then `pulumi up` creates it again)" : "";
    expectStatus(reply, `replacing retention policy ${id} of ${news.project}${gone}`, 200);
    return { outs: { ...news, policyId: Number(id), projectId: olds.projectId } };
  },

  async delete(id, props) {
    const project = await liveProject(props.connection, props.projectId);
    if (!project) return;
    if (project.proxy) {
      // A proxy-cache project keeps Harbor's default expiry rather than none.
      const body = retentionPolicyBody(
        proxyExpiryRules(HARBOR_PROXY_EXPIRY_DAYS),
        SCHEDULE_TYPE_CRON.Daily,
        project.projectId,
        Number(id),
      );
      const reply = await apiRequest(props.connection, "PUT", `/retentions/${id}`, body);
      expectStatus(reply, `restoring the default expiry of ${props.project}`, 200, 404);
      return;
    }
    const reply = await apiRequest(props.connection, "DELETE", `/retentions/${id}`);
    expectStatus(reply, `deleting the retention policy of ${props.project}`, 200, 404);
  },
};

/** The provider, recording which stack declared the RetentionPolicy (./declaration.ts). */
const declaredRetentionPolicyProvider = declaredProvider("retention", (outs) => outs.project, retentionPolicyProvider);

/** A project's tag retention policy. */
export class RetentionPolicy extends pulumi.dynamic.Resource {
  declare readonly policyId: pulumi.Output<number>;
  declare readonly projectId: pulumi.Output<number>;

  constructor(name: string, args: RetentionPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredRetentionPolicyProvider,
      name,
      {
        declaration: declaredBy(name, "RetentionPolicy", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        policyId: undefined,
        projectId: undefined,
      },
      opts,
      "registry",
      "RetentionPolicy",
    );
  }
}
