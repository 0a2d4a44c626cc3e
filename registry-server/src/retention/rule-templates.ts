// The retention rule templates Harbor registers (src/pkg/retention/policy/rule/index/index.go) and
// their evaluators (rule/{latestps,latestpl,latestk,lastx,dayspl,daysps,always}/evaluator.go): what
// each template's parameter is, how Harbor validates it, and which of a rule's selected artifacts
// the rule keeps. The template ids are public API (policies store them): never rename one.
//
// Each evaluator is a pure function over the artifacts a rule selected, with Harbor's times in Unix
// seconds: the push time is the latest of the artifact's and its tags' (retention/dep/client.go),
// and an artifact never pulled has Go's zero time. "Latest" templates sort by time, newest first;
// Harbor's sort is unstable, here ties keep the order given. Day windows are Harbor's: pulled or
// pushed at or after now - n×24h for nDaysSince*, strictly after for lastXDays.
//
// Parameters are JSON numbers (Go float64, truncated to an int by utils.ParseJSONInt). Validation
// gives Harbor's messages (index.Valid and the evaluators' Valid). Harbor checks only the presence
// of latestActiveK and lastXDays and falls back to the default at run time; here their value must
// also be a number not below zero. "nothing" is not registered in Harbor, and is not here.

export interface TimedArtifact {
  /** Unix seconds of the last push. */
  readonly pushed: number;
  /** Unix seconds of the last pull; GO_ZERO_TIME when never pulled. */
  readonly pulled: number;
}

/** Go's time.Time{}.Unix(): the pull time Harbor gives an artifact never pulled. */
export const GO_ZERO_TIME = -62_135_596_800;

const DAY_SECONDS = 86_400;
const MAX_COUNT = 32_767; // math.MaxInt16: latestPushedK and latestPulledN must stay below it
const MAX_DAYS = 20_190_904; // nDaysSinceLastPull and nDaysSinceLastPush may reach it

export interface TemplateParam {
  /** The key in the rule's `params`: always the template id. */
  readonly name: string;
  readonly unit: "count" | "days";
  /** What the evaluator uses when the value is missing or unusable (Harbor's DefaultK/DefaultN). */
  readonly fallback: number;
  /** Values must stay under (exclusive) or at (inclusive) this bound. */
  readonly bound?: { readonly limit: number; readonly inclusive: boolean };
}

export interface RuleTemplate {
  readonly id: string;
  readonly param?: TemplateParam;
  /** The artifacts the rule keeps among those its selectors chose; `value` is the parameter. */
  keep<T extends TimedArtifact>(artifacts: readonly T[], value: number, now: Date): T[];
}

function newest<T extends TimedArtifact>(
  artifacts: readonly T[],
  count: number,
  time: (a: TimedArtifact) => number,
): T[] {
  return artifacts
    .map((artifact, order) => ({ artifact, order }))
    .sort((a, b) => time(b.artifact) - time(a.artifact) || a.order - b.order)
    .slice(0, count)
    .map(({ artifact }) => artifact);
}

function unixSeconds(at: Date): number {
  return Math.floor(at.getTime() / 1000);
}

const count = (name: string, bounded: boolean): TemplateParam => ({
  name,
  unit: "count",
  fallback: 10,
  ...(bounded ? { bound: { limit: MAX_COUNT, inclusive: false } } : {}),
});
const days = (name: string, fallback: number, bounded: boolean): TemplateParam => ({
  name,
  unit: "days",
  fallback,
  ...(bounded ? { bound: { limit: MAX_DAYS, inclusive: true } } : {}),
});

const templates: readonly RuleTemplate[] = [
  {
    id: "latestPushedK",
    param: count("latestPushedK", true),
    keep: (artifacts, k) => newest(artifacts, k, (a) => a.pushed),
  },
  {
    id: "latestPulledN",
    param: count("latestPulledN", true),
    keep: (artifacts, n) => newest(artifacts, n, (a) => a.pulled),
  },
  {
    id: "latestActiveK",
    param: count("latestActiveK", false),
    keep: (artifacts, k) => newest(artifacts, k, (a) => Math.max(a.pulled, a.pushed)),
  },
  {
    id: "lastXDays",
    param: days("lastXDays", 10, false),
    keep: (artifacts, x, now) => artifacts.filter((a) => a.pushed * 1000 > now.getTime() - x * DAY_SECONDS * 1000),
  },
  {
    id: "nDaysSinceLastPull",
    param: days("nDaysSinceLastPull", 30, true),
    keep: (artifacts, n, now) => artifacts.filter((a) => a.pulled >= unixSeconds(now) - n * DAY_SECONDS),
  },
  {
    id: "nDaysSinceLastPush",
    param: days("nDaysSinceLastPush", 30, true),
    keep: (artifacts, n, now) => artifacts.filter((a) => a.pushed >= unixSeconds(now) - n * DAY_SECONDS),
  },
  { id: "always", keep: (artifacts) => [...artifacts] },
];

/** Every registered template by id. */
export const RULE_TEMPLATES: ReadonlyMap<string, RuleTemplate> = new Map(templates.map((t) => [t.id, t]));

export interface TemplateProblem {
  /** The parameter at fault; undefined when the template itself is. */
  readonly param?: string;
  readonly message: string;
}

/** Harbor's validation of a rule's template and parameters; undefined when they are valid. */
export function templateProblem(
  templateId: string,
  params: Readonly<Record<string, unknown>>,
): TemplateProblem | undefined {
  if (templateId === "") return { message: "empty rule template ID" };
  const template = RULE_TEMPLATES.get(templateId);
  if (!template) return { message: `rule evaluator ${templateId} is not registered` };
  const param = template.param;
  if (!param) return undefined;
  if (!Object.hasOwn(params, param.name)) {
    return { param: param.name, message: `missing required parameter ${param.name} for rule ${templateId}` };
  }
  const value = jsonInt(params[param.name]);
  if (value === undefined) return { param: param.name, message: `${param.name} type error` };
  if (value < 0) return { param: param.name, message: `${param.name} is less than zero` };
  const bound = param.bound;
  if (bound && (bound.inclusive ? value > bound.limit : value >= bound.limit)) {
    return { param: param.name, message: `${param.name} is too large` };
  }
  return undefined;
}

/** The value an evaluator runs with: the parameter when usable, else Harbor's default. */
export function templateValue(template: RuleTemplate, params: Readonly<Record<string, unknown>>): number {
  if (!template.param) return 0;
  const value = jsonInt(params[template.param.name]);
  return value !== undefined && value >= 0 ? value : template.param.fallback;
}

/** utils.ParseJSONInt: a JSON number, truncated toward zero as Go's int(float64). */
function jsonInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) + 0 : undefined;
}
