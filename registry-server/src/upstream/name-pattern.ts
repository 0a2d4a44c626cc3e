// What a replication name filter (a doublestar pattern, retention/pattern.ts) says about the
// repositories it can match, for registries that cannot list all of theirs: a pattern that names
// them outright ("team/app", "team/{app,web}", as Harbor's util.IsSpecificPath reads it), or the
// literal text every match begins with, to narrow a catalog before the caller filters it exactly.

const WILDCARD = /[*?[\\]/;
/** Names a brace pattern may expand to; more is not "naming" repositories. */
const MAX_NAMES = 100;

/** The text before the first wildcard or brace: every name the pattern matches starts with it. */
export function literalPrefix(pattern: string): string {
  const at = pattern.search(/[*?[\\{]/);
  return at < 0 ? pattern : pattern.slice(0, at);
}

/**
 * The names a pattern without wildcards stands for, its `{a,b}` alternatives expanded; undefined
 * when it has wildcards (or expands to too many names).
 */
export function namedRepositories(pattern: string): string[] | undefined {
  if (pattern === "" || WILDCARD.test(pattern)) return undefined;
  let names = [""];
  let rest = pattern;
  for (let guard = 0; rest.length > 0 && guard <= pattern.length; guard++) {
    const open = rest.indexOf("{");
    if (open < 0) {
      names = names.map((name) => name + rest);
      break;
    }
    const close = rest.indexOf("}", open);
    if (close < 0) return undefined;
    const head = rest.slice(0, open);
    const options = rest.slice(open + 1, close).split(",");
    names = names.flatMap((name) => options.map((option) => name + head + option));
    if (names.length > MAX_NAMES) return undefined;
    rest = rest.slice(close + 1);
  }
  const unique = [...new Set(names.map((name) => name.trim()))];
  return unique.every((name) => name !== "" && !name.startsWith("/") && !name.endsWith("/")) ? unique : undefined;
}
