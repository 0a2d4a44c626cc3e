// An immutable tag rule exactly as Harbor's API carries it (POST/PUT
// /projects/{project_name_or_id}/immutabletagrules, GET lists them): the JSON of
// src/pkg/immutable/model/rule.go, which the handler (src/server/v2.0/handler/immutable.go) copies
// the swagger body into, so keys the model lacks are dropped: a selector's `extras` and the rule's
// `params` are not kept. `immutableRuleSchema` decodes a body into that shape, normalised with Go's
// zero values (retention/go-json.ts), and refuses what the model's validation tags refuse, with
// the path of the field at fault, for the API's 400:
//
//   - action and template are required (Harbor's portal sends "immutable" and
//     "immutable_template"; Harbor checks neither value and matching ignores both, so neither
//     does this);
//   - at least one tag selector; every selector of kind doublestar with a decoration and a pattern.
//
// Stricter than Harbor, because its matcher would fail on them: decorations outside matches/
// excludes for tags and repoMatches/repoExcludes for repositories, and malformed patterns.
// `project_id` comes from the URL, not the body: the handler overwrites it, and so should the API.
// Harbor's server sets no limit on how many rules a project has.

import { z } from "zod";
import { goBool, goInt, goMap, goSlice, goString } from "../retention/go-json.ts";
import { REPOSITORY_DECORATIONS, TAG_DECORATIONS, selectorSchema, type Selector } from "../retention/selector.ts";

export const IMMUTABLE_ACTION = "immutable";
export const IMMUTABLE_TEMPLATE = "immutable_template";

export interface ImmutableRule {
  readonly id: number;
  readonly project_id: number;
  readonly disabled: boolean;
  readonly priority: number;
  readonly action: string;
  readonly template: string;
  readonly tag_selectors: readonly Selector[];
  /** "repository" is the key matching reads; others are kept and ignored. */
  readonly scope_selectors: Readonly<Record<string, readonly Selector[]>>;
}

/** Decodes and validates an immutable tag rule body (for the API's readJson). */
export const immutableRuleSchema: z.ZodType<ImmutableRule> = z
  .object({
    id: goInt(),
    project_id: goInt(),
    disabled: goBool(),
    priority: goInt(),
    action: goString(),
    template: goString(),
    tag_selectors: goSlice(selectorSchema(TAG_DECORATIONS)),
    scope_selectors: goMap(goSlice(selectorSchema(REPOSITORY_DECORATIONS))),
  })
  .superRefine((rule, ctx) => {
    for (const field of ["action", "template"] as const) {
      if (rule[field] === "") ctx.addIssue({ code: "custom", path: [field], message: "Can not be empty" });
    }
    if (rule.tag_selectors.length === 0) {
      ctx.addIssue({ code: "custom", path: ["tag_selectors"], message: "Can not be empty" });
    }
  });
