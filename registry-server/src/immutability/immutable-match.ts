// Whether a project's immutable tag rules protect a tag: Harbor's matcher
// (src/pkg/immutable/match/rule/match.go), used when a tag is pushed over, deleted, or an artifact
// is about to be removed by retention. A pure function over the project's rules:
//
//   - rules are tried by id; disabled ones and ones without a repository selector or a tag
//     selector are skipped; the first rule that matches makes the tag immutable;
//   - a rule matches when its FIRST repository selector selects the repository and its FIRST tag
//     selector selects the tag. Harbor reads only the first of each (its portal writes one, with
//     `{a,b}` alternatives inside the pattern); further selectors are ignored here too;
//   - the repository is the name without the project ("team/app" for library/team/app), as
//     Harbor's callers pass it after utils.ParseRepository;
//   - an untagged artifact is never immutable: Harbor sets the tag selector's `untagged` so that
//     neither matches nor excludes selects it.
//
// A selector Harbor's matcher cannot run (a malformed pattern, a decoration out of place) throws
// SelectorError, as Harbor's Match returns an error; validated rules (immutable-rule.ts) never do.

import { selectsRepository, selectsTags } from "../retention/selector.ts";
import type { ImmutableRule } from "./immutable-rule.ts";

/** Whether pushing over or deleting `repository:tag` is refused. */
export function isImmutable(rules: readonly ImmutableRule[], repository: string, tag: string): boolean {
  return isArtifactImmutable(rules, repository, [tag]);
}

/** Whether an artifact carrying `tags` is protected from deletion (any of its tags is immutable). */
export function isArtifactImmutable(
  rules: readonly ImmutableRule[],
  repository: string,
  tags: readonly string[],
): boolean {
  if (tags.length === 0) return false;
  const byId = [...rules].sort((a, b) => a.id - b.id);
  for (const rule of byId) {
    if (rule.disabled) continue;
    const repositorySelector = rule.scope_selectors["repository"]?.[0];
    const tagSelector = rule.tag_selectors[0];
    if (!repositorySelector || !tagSelector) continue;
    if (!selectsRepository(repositorySelector, repository)) continue;
    // untagged: false for matches, true for excludes: both leave untagged artifacts out.
    if (selectsTags(tagSelector, tagSelector.decoration === "excludes", tags)) return true;
  }
  return false;
}
