// What a declaration's `kind` and `key` name (api/declaration-routes.ts): the closed list of the
// objects the Pulumi providers manage (components/registry/), each key's format, whether the
// object lives in a project (its declaration then follows the project's visibility and goes with
// it) or is the system's (the administrator's), and whether it exists now: a declaration is
// accepted only for an object that exists, so their number is bounded by what exists (or existed:
// a declaration outlives an object deleted by hand, which is exactly the drift the portal shows).
//
// | kind                 | key                              | scope   |
// | -------------------- | -------------------------------- | ------- |
// | `project`            | project name                     | project |
// | `member`             | `<project>/<user name>`          | project |
// | `robot`              | full name (`robot$<p>+<n>`/`robot$<n>`) | project robot: project; system robot: system |
// | `retention`          | project name (one per project)   | project |
// | `immutable_rule`     | `<project>/<rule id>`            | project |
// | `webhook_policy`     | `<project>/<policy name>`        | project |
// | `preheat`            | project name                     | project |
// | `registry`           | endpoint name                    | system  |
// | `replication_policy` | policy name                      | system  |
// | `scanner`            | registration name                | system  |
// | `user`               | user name                        | system  |
// | `schedule`           | `gc` or `purge_audit`            | system  |
// | `cve_allowlist`      | `system` (a project's allowlist is part of its `project`) | system |

import { ROBOT_PREFIX } from "../auth/credential-authenticator.ts";
import { HarborError } from "../http/errors.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataAreas } from "../metadata/metadata-store.ts";
import { PROJECT_NAME } from "./project-routes.ts";

export const DECLARED_KINDS = [
  "project",
  "member",
  "robot",
  "retention",
  "immutable_rule",
  "webhook_policy",
  "preheat",
  "registry",
  "replication_policy",
  "scanner",
  "user",
  "schedule",
  "cve_allowlist",
] as const;
export type DeclaredKind = (typeof DECLARED_KINDS)[number];

/** The longest key: a project robot's full name is a prefix, two names of 255 and a `+`. */
export const MAX_KEY_LENGTH = 600;
const MAX_SEGMENT = 100;
/** `<organization>/<project>/<stack>`, each in the characters Pulumi allows in those names. */
const STACK = new RegExp(
  `^[A-Za-z0-9._-]{1,${MAX_SEGMENT}}/[A-Za-z0-9._-]{1,${MAX_SEGMENT}}/[A-Za-z0-9._-]{1,${MAX_SEGMENT}}$`,
);
/** A URN nests its parents' types: long, but bounded. */
export const MAX_RESOURCE_LENGTH = 2048;
/** Printable text: no control characters (C0, DEL, C1), no line breaks to forge log lines with. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/u;
const SCHEDULES = ["gc", "purge_audit"];

/** Where an object lives: in a project (by name), or the system's. */
export type DeclaredScope = { readonly project: string } | { readonly system: true };

export function declaredKind(text: string): DeclaredKind {
  const kind = DECLARED_KINDS.find((k) => k === text);
  if (!kind) {
    throw new HarborError(
      "BAD_REQUEST",
      `unknown declaration kind ${JSON.stringify(text.slice(0, 64))}: expected one of ${DECLARED_KINDS.join(", ")}`,
    );
  }
  return kind;
}

function badKey(kind: DeclaredKind, key: string, expected: string): HarborError {
  return new HarborError(
    "BAD_REQUEST",
    `invalid key ${JSON.stringify(key.slice(0, 80))} for kind ${kind}: expected ${expected}`,
  );
}

function projectName(kind: DeclaredKind, key: string, name: string, expected: string): string {
  if (name.length > 255 || !PROJECT_NAME.test(name)) throw badKey(kind, key, expected);
  return name;
}

/** `<project>/<rest>`, the rest non-empty. */
function inProject(kind: DeclaredKind, key: string, what: string): { project: string; rest: string } {
  const slash = key.indexOf("/");
  const expected = `<project>/<${what}>`;
  if (slash <= 0 || slash === key.length - 1) throw badKey(kind, key, expected);
  return { project: projectName(kind, key, key.slice(0, slash), expected), rest: key.slice(slash + 1) };
}

/**
 * A robot's full name without its prefix (the `robot_name_prefix` setting, or Harbor's `robot$`
 * that the store keeps); undefined when it has neither.
 */
function robotBareName(key: string, prefix: string): string | undefined {
  for (const candidate of [prefix, ROBOT_PREFIX]) {
    if (candidate && key.startsWith(candidate) && key.length > candidate.length) return key.slice(candidate.length);
  }
  return undefined;
}

/**
 * Checks a key's format for its kind and tells where the object lives, by the key alone (a
 * deleted object's declaration must still be found and authorised). 400 naming the kind when the
 * key is malformed.
 */
export function declaredScope(kind: DeclaredKind, key: string, robotPrefix: string): DeclaredScope {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !PRINTABLE.test(key)) {
    throw badKey(kind, key, `1 to ${MAX_KEY_LENGTH} printable characters`);
  }
  switch (kind) {
    case "project":
    case "retention":
    case "preheat":
      return { project: projectName(kind, key, key, "a project name") };
    case "member":
      return { project: inProject(kind, key, "user name").project };
    case "webhook_policy":
      return { project: inProject(kind, key, "policy name").project };
    case "immutable_rule": {
      const { project, rest } = inProject(kind, key, "rule id");
      if (!/^[1-9]\d{0,15}$/.test(rest)) throw badKey(kind, key, "<project>/<rule id>");
      return { project };
    }
    case "robot": {
      const bare = robotBareName(key, robotPrefix);
      if (bare === undefined) throw badKey(kind, key, `a robot's full name (${robotPrefix}…)`);
      const plus = bare.indexOf("+");
      if (plus < 0) return { system: true };
      return { project: projectName(kind, key, bare.slice(0, plus), `${robotPrefix}<project>+<name>`) };
    }
    case "schedule":
      if (!SCHEDULES.includes(key)) throw badKey(kind, key, SCHEDULES.join(" or "));
      return { system: true };
    case "cve_allowlist":
      if (key !== "system") throw badKey(kind, key, '"system" (a project\'s allowlist is part of its project)');
      return { system: true };
    case "registry":
    case "replication_policy":
    case "scanner":
    case "user":
      return { system: true };
  }
}

export function checkStack(stack: unknown): string {
  if (typeof stack !== "string" || !STACK.test(stack)) {
    throw new HarborError(
      "BAD_REQUEST",
      `invalid stack: expected <organization>/<project>/<stack> (letters, digits, . _ -; at most ${MAX_SEGMENT} each)`,
    );
  }
  return stack;
}

/** The declaring resource: its URN (`urn:pulumi:…`), or `<type>::<name>` when there is none. */
export function checkResource(resource: unknown): string {
  if (
    typeof resource !== "string" ||
    resource.length > MAX_RESOURCE_LENGTH ||
    !PRINTABLE.test(resource) ||
    !/\S::\S/.test(resource)
  ) {
    throw new HarborError(
      "BAD_REQUEST",
      `invalid resource: expected a Pulumi URN or <type>::<name>, printable, at most ${MAX_RESOURCE_LENGTH} characters`,
    );
  }
  return resource;
}

/** What the existence checks read. */
export type DeclaredObjectStore = Pick<
  MetadataAreas,
  | "users"
  | "members"
  | "robots"
  | "registries"
  | "retentions"
  | "immutableRules"
  | "webhookPolicies"
  | "replicationPolicies"
  | "scanners"
>;

/**
 * Whether the object exists, for kinds where one or two indexed reads tell (every kind but the
 * schedules and the system allowlist, which always exist). `project` is the scope's project,
 * already found.
 */
export async function declaredObjectExists(
  store: DeclaredObjectStore,
  kind: DeclaredKind,
  key: string,
  project: ProjectRecord | undefined,
  robotPrefix: string,
): Promise<boolean> {
  const rest = key.slice(key.indexOf("/") + 1);
  switch (kind) {
    case "project":
    case "preheat":
      return project !== undefined;
    case "retention":
      return project !== undefined && (await store.retentions.forProject(project.id)) !== undefined;
    case "member": {
      const user = project && (await store.users.getByName(rest));
      return user !== undefined && (await store.members.roleOf(project!.id, user.id)) !== undefined;
    }
    case "immutable_rule": {
      const rule = await store.immutableRules.get(Number(rest));
      return rule !== undefined && rule.projectId === project?.id;
    }
    case "webhook_policy": {
      if (!project) return false;
      const found = await store.webhookPolicies.list(
        { projectId: project.id, name: { value: rest, fuzzy: false } },
        { offset: 0, limit: 1 },
      );
      return found.total > 0;
    }
    case "robot": {
      const robot = await store.robots.getByName(ROBOT_PREFIX + (robotBareName(key, robotPrefix) ?? ""));
      if (!robot) return false;
      return project ? robot.level === "project" && robot.projectId === project.id : robot.level === "system";
    }
    case "registry":
      return (await store.registries.getByName(key)) !== undefined;
    case "replication_policy":
      return (await store.replicationPolicies.getByName(key)) !== undefined;
    case "scanner":
      return (await store.scanners.list({ name: { value: key, fuzzy: false } }, { offset: 0, limit: 1 })).total > 0;
    case "user":
      return (await store.users.getByName(key)) !== undefined;
    case "schedule":
    case "cve_allowlist":
      return true;
  }
}
