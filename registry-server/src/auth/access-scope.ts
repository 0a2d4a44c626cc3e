// Docker token-auth scopes (`repository:library/nginx:pull,push`): what a client asks the token
// endpoint for, and what a token grants. Parsing is strict about shape and lenient about noise:
// a malformed entry is dropped rather than failing the whole request, as Docker's token servers do.

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** The wildcard action: every action of the entry's type. */
export const ALL_ACTIONS = "*";

/**
 * The actions each resource type knows, `*` excluded. `registry:catalog:*` has no finer action,
 * so the wildcard is its only one.
 */
export const ACTIONS_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  repository: ["pull", "push", "delete"],
  registry: [ALL_ACTIONS],
};

/**
 * Harbor's action for scanners: held with `pull`, it lets a scanner (and the system
 * administrator) pull what the project's policies refuse to others. Known, but not among the
 * actions `*` stands for, as in Harbor's tokens.
 */
export const SCANNER_PULL = "scanner-pull";
const EXTRA_ACTIONS_BY_TYPE: Readonly<Record<string, readonly string[]>> = { repository: [SCANNER_PULL] };

// Lowercase path components joined by `/`, each made of alphanumerics with `.`, `_`, `__` or runs
// of `-` between them: the OCI Distribution repository name grammar.
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
// A resource type, optionally with a class suffix (`repository(plugin)`) that is ignored.
const TYPE_PATTERN = /^([a-z0-9]+)(?:\([a-z0-9]+\))?$/;
const ACTION_PATTERN = /^(?:[a-z]+(?:-[a-z]+)*|\*)$/;
const MAX_NAME_LENGTH = 255;

function parseOne(scope: string): AccessEntry | undefined {
  const firstColon = scope.indexOf(":");
  const lastColon = scope.lastIndexOf(":");
  if (firstColon <= 0 || lastColon === firstColon) return undefined;
  const type = TYPE_PATTERN.exec(scope.slice(0, firstColon))?.[1];
  const name = scope.slice(firstColon + 1, lastColon);
  if (!type || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) return undefined;
  const actions = scope
    .slice(lastColon + 1)
    .split(",")
    .filter((action) => action !== "");
  if (actions.length === 0 || !actions.every((action) => ACTION_PATTERN.test(action))) return undefined;
  return { type, name, actions: [...new Set(actions)] };
}

/**
 * Parses scope parameters; each value may hold several scopes separated by spaces (the OAuth2
 * form). Entries for the same resource are merged, keeping the order of first appearance.
 */
export function parseScopes(values: string[]): AccessEntry[] {
  const merged = new Map<string, AccessEntry>();
  for (const value of values) {
    for (const scope of value.split(/\s+/)) {
      const entry = scope === "" ? undefined : parseOne(scope);
      if (!entry) continue;
      const key = `${entry.type}:${entry.name}`;
      const existing = merged.get(key);
      if (existing) existing.actions = [...new Set([...existing.actions, ...entry.actions])];
      else merged.set(key, entry);
    }
  }
  return [...merged.values()];
}

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(",")}`;
}

/**
 * The known actions among `actions`, `*` expanded to the actions it stands for in an entry of this
 * type; empty for an unknown type.
 */
export function expandActions(type: string, actions: readonly string[]): string[] {
  const known = ACTIONS_BY_TYPE[type] ?? [];
  const extra = (EXTRA_ACTIONS_BY_TYPE[type] ?? []).filter((action) => actions.includes(action));
  if (actions.includes(ALL_ACTIONS)) return [...known, ...extra];
  return [...known.filter((action) => actions.includes(action)), ...extra];
}

/**
 * Splits a repository name into its project (the first path segment, as in Harbor) and the
 * rest; undefined for a name without a project (`nginx`), which belongs to no project.
 */
export function repositoryProject(name: string): { project: string; repository: string } | undefined {
  const slash = name.indexOf("/");
  if (slash <= 0) return undefined;
  return { project: name.slice(0, slash), repository: name.slice(slash + 1) };
}

/** Whether granted access allows one action on one resource (`*` granting the actions it stands for). */
export function allows(granted: readonly AccessEntry[], type: string, name: string, action: string): boolean {
  const wildcard = action === ALL_ACTIONS || (ACTIONS_BY_TYPE[type] ?? []).includes(action);
  return granted.some(
    (entry) =>
      entry.type === type &&
      entry.name === name &&
      (entry.actions.includes(action) || (wildcard && entry.actions.includes(ALL_ACTIONS))),
  );
}
