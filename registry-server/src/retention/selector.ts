// Harbor's "doublestar" selector (src/lib/selector/selectors/doublestar/selector.go): the JSON of
// one selector, as retention rules and immutable tag rules carry it, and what it selects.
//
//   - repoMatches / repoExcludes look at the repository's name without its project ("team/app"
//     in project "library"; src/pkg/retention/launcher.go splits the name at the first "/").
//   - matches selects an artifact when any of its tags matches the pattern; excludes when any of
//     its tags does NOT match (an artifact tagged "v1" and "latest" passes `excludes v*`).
//   - An artifact without tags passes `matches` when the selector's `untagged` flag is set and
//     `excludes` when it is not. The flag defaults to true for matches and false for excludes
//     ("keep the untagged" as before the flag existed) and is overridden by `extras`, a JSON
//     string such as {"untagged":true}, decoded as Go decodes it: unparseable or ill-typed extras
//     keep the default, while {} or null clear the flag.
//
// Harbor registers six decorations (src/lib/selector/selectors/index/index.go); the API offers
// two per position (GET /retentions/metadatas), and those are the ones accepted here: tag
// selectors take matches/excludes, repository selectors repoMatches/repoExcludes. Anything else
// met at run time is a SelectorError, as Harbor's index.Get fails, and so is a malformed pattern.

import { z } from "zod";
import { goString } from "./go-json.ts";
import { BadPatternError, matchPattern, patternProblem } from "./pattern.ts";

export const SELECTOR_KIND = "doublestar";
export const TAG_DECORATIONS = ["matches", "excludes"] as const;
export const REPOSITORY_DECORATIONS = ["repoMatches", "repoExcludes"] as const;

export interface Selector {
  readonly kind: string;
  readonly decoration: string;
  readonly pattern: string;
}

/** A selector Harbor cannot run: unknown kind, a decoration out of place, a malformed pattern. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SelectorError";
  }
}

const selectorShape = { kind: goString(), decoration: goString(), pattern: goString() };

/**
 * The JSON of a selector whose decoration is one of `decorations` (rule.Selector: kind, decoration
 * and pattern are required, the kind must be doublestar). Immutable rules have no `extras`.
 */
export function selectorSchema(decorations: readonly string[]) {
  return z.object(selectorShape).superRefine((selector, ctx) => checkSelector(selector, decorations, ctx));
}

/** A retention rule's selector, which also keeps `extras` ("" when absent). */
export function retentionSelectorSchema(decorations: readonly string[]) {
  return z
    .object({ ...selectorShape, extras: goString() })
    .superRefine((selector, ctx) => checkSelector(selector, decorations, ctx));
}

function checkSelector(selector: Selector, decorations: readonly string[], ctx: z.RefinementCtx): void {
  const problem = selectorProblem(selector, decorations);
  if (problem) ctx.addIssue({ code: "custom", path: [problem.field], message: problem.message });
}

function selectorProblem(
  selector: Selector,
  decorations: readonly string[],
): { field: keyof Selector; message: string } | undefined {
  if (selector.kind === "") return { field: "kind", message: "Can not be empty" };
  if (selector.kind !== SELECTOR_KIND) return { field: "kind", message: `selector ${selector.kind} is not registered` };
  if (selector.decoration === "") return { field: "decoration", message: "Can not be empty" };
  if (!decorations.includes(selector.decoration)) {
    return {
      field: "decoration",
      message: `decoration ${selector.decoration} of selector doublestar is not supported`,
    };
  }
  if (selector.pattern.trim() === "") return { field: "pattern", message: "Can not be empty" };
  const problem = patternProblem(selector.pattern);
  return problem ? { field: "pattern", message: problem } : undefined;
}

/** The `untagged` flag of a tag selector: doublestar.New's default, then its extras. */
export function untaggedFlag(decoration: string, extras: string): boolean {
  const fallback = decoration !== "excludes";
  if (extras === "") return fallback;
  return decodeUntagged(extras) ?? fallback;
}

/** json.Unmarshal(extras, &struct{ Untagged bool `json:"untagged"` }); undefined when Go errs. */
function decodeUntagged(extras: string): boolean | undefined {
  let value: unknown;
  try {
    value = JSON.parse(extras);
  } catch {
    return undefined;
  }
  if (value === null) return false;
  if (typeof value !== "object" || Array.isArray(value)) return undefined;
  let untagged = false;
  for (const [key, field] of Object.entries(value)) {
    if (key.toLowerCase() !== "untagged" || field === null) continue;
    if (typeof field !== "boolean") return undefined;
    untagged = field;
  }
  return untagged;
}

/** Whether a repository selector selects `repository` (its name without the project). */
export function selectsRepository(selector: Selector, repository: string): boolean {
  checkKind(selector, REPOSITORY_DECORATIONS);
  return match(selector.pattern, repository) === (selector.decoration === "repoMatches");
}

/** Whether a tag selector selects an artifact carrying `tags`. */
export function selectsTags(selector: Selector, untagged: boolean, tags: readonly string[]): boolean {
  checkKind(selector, TAG_DECORATIONS);
  const matches = selector.decoration === "matches";
  if (tags.length === 0) return matches ? untagged : !untagged;
  return tags.some((tag) => match(selector.pattern, tag) === matches);
}

function checkKind(selector: Selector, decorations: readonly string[]): void {
  if (selector.kind !== SELECTOR_KIND) throw new SelectorError(`selector ${selector.kind} is not registered`);
  if (!decorations.includes(selector.decoration)) {
    throw new SelectorError(`decoration ${selector.decoration} of selector doublestar is not supported`);
  }
}

function match(pattern: string, name: string): boolean {
  try {
    return matchPattern(pattern, name);
  } catch (error) {
    if (error instanceof BadPatternError) throw new SelectorError(error.message);
    throw error;
  }
}
