// Harbor's doublestar selectors (retention rules, immutable tag rules) as the registry providers
// take them: `{ matches: "v*" }` or `{ excludes: "v*" }`, the same words for tags and
// repositories (Harbor says matches/excludes for tags and repoMatches/repoExcludes for
// repositories: the position decides, not the input). A pattern is a glob with `*`, `**`, `?`,
// `[a-z]` and `{a,b}`, matched against a tag or a repository's name without its project; the
// check here refuses what can never work (blank, unbalanced brackets or braces, a trailing
// escape), the registry refuses the rest.
//
// No imports: the dynamic providers are serialised into the stack state with this module
// (components/README.md, "Rules for the dynamic providers").

export type PatternSelector = { matches: string; excludes?: undefined } | { excludes: string; matches?: undefined };

/** A selector as Harbor's API carries it (without a retention rule's `extras`). */
export interface HarborSelector {
  kind: "doublestar";
  decoration: string;
  pattern: string;
}

export type SelectorPosition = "tags" | "repositories";

/** Every tag or every repository: `**`. */
export const MATCH_ALL: PatternSelector = { matches: "**" };

/** Why a pattern is malformed, or undefined. */
export function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== "string" || pattern.trim() === "") return `expected a pattern, got ${JSON.stringify(pattern)}`;
  const open: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\") {
      if (i === pattern.length - 1) return `${JSON.stringify(pattern)} ends with an escape`;
      i++;
    } else if (char === "[" || char === "{") {
      if (open.at(-1) === "[") continue;
      open.push(char);
    } else if (char === "]" || char === "}") {
      const expected = char === "]" ? "[" : "{";
      // A closer with nothing open is a literal character; a brace inside a class too.
      if (open.length === 0 || (open.at(-1) === "[" && char === "}")) continue;
      if (open.pop() !== expected) return `${JSON.stringify(pattern)} closes a ${char} it did not open`;
    }
  }
  return open.length > 0 ? `${JSON.stringify(pattern)} leaves a ${open.at(-1) ?? ""} open` : undefined;
}

/**
 * The selector from the input (`fallback` when left out), or why it is refused: exactly one of
 * `matches` and `excludes`, a well-formed pattern.
 */
export function normaliseSelector(
  value: unknown,
  fallback: PatternSelector | undefined,
): { selector: PatternSelector; problem?: undefined } | { selector?: undefined; problem: string } {
  if (value === undefined && fallback) return { selector: fallback };
  const given = value as { matches?: unknown; excludes?: unknown } | null;
  const keys = given !== null && typeof given === "object" ? Object.keys(given) : [];
  if (keys.length !== 1 || (keys[0] !== "matches" && keys[0] !== "excludes")) {
    return { problem: `expected { matches: "<pattern>" } or { excludes: "<pattern>" }, got ${JSON.stringify(value)}` };
  }
  const pattern = keys[0] === "matches" ? given?.matches : given?.excludes;
  const problem = patternProblem(pattern);
  if (problem) return { problem };
  return { selector: keys[0] === "matches" ? { matches: String(pattern) } : { excludes: String(pattern) } };
}

/** The selector as Harbor's API carries it in that position. */
export function harborSelector(selector: PatternSelector, position: SelectorPosition): HarborSelector {
  const matches = selector.matches !== undefined;
  const decoration =
    position === "tags" ? (matches ? "matches" : "excludes") : matches ? "repoMatches" : "repoExcludes";
  return { kind: "doublestar", decoration, pattern: selector.matches ?? selector.excludes ?? "" };
}

/** A selector the registry answered, as the inputs say it; undefined when they cannot. */
export function selectorFromHarbor(live: unknown, position: SelectorPosition): PatternSelector | undefined {
  const selector = live as Partial<HarborSelector> | null;
  if (selector === null || typeof selector !== "object" || selector.kind !== "doublestar") return undefined;
  if (typeof selector.pattern !== "string") return undefined;
  const [matches, excludes] = position === "tags" ? ["matches", "excludes"] : ["repoMatches", "repoExcludes"];
  if (selector.decoration === matches) return { matches: selector.pattern };
  if (selector.decoration === excludes) return { excludes: selector.pattern };
  return undefined;
}
