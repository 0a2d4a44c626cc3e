// A robot account (Harbor's robot v2), managed through the registry's API. The registry shows a
// robot's secret only when it creates or refreshes one, so the secret is a secret output kept
// in the state, and rotation is asked for by changing `secretVersion` (or by setting `secret`
// to a value of your own). `read` reports description, permissions, duration and whether the
// robot is disabled, so changes made by hand show in `pulumi refresh`.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { PROJECT_NAME, PROJECT_NAME_RULE } from "../project-name";
import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, readInputs, expectStatus, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

export interface RobotAccess {
  resource: string;
  action: string;
}

export interface RobotPermission {
  kind: "project" | "system";
  namespace: string;
  access: RobotAccess[];
}

export interface RobotAccountArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The short name; the registry names it robot$<project>+<name> (project) or robot$<name>. */
  name: pulumi.Input<string>;
  /** The project of a project robot; leave out for a system robot. */
  project?: pulumi.Input<string>;
  /** What the robot may do. For a project robot: one entry of kind "project" for its project. */
  permissions: pulumi.Input<pulumi.Input<RobotPermission>[]>;
  /** Free text shown in the registry. Default empty. */
  description?: pulumi.Input<string>;
  /** Lifetime in days; -1 (default) never expires. */
  duration?: pulumi.Input<number>;
  /** A disabled robot cannot log in. Default false. */
  disabled?: pulumi.Input<boolean>;
  /** Change to have the registry generate a new secret. */
  secretVersion?: pulumi.Input<number>;
  /** A secret of your own instead of a generated one (Harbor's rule applies). */
  secret?: pulumi.Input<string>;
  /** Take over an existing robot of the same name (its secret is then refreshed). */
  adopt?: pulumi.Input<boolean>;
}

interface RobotInputs {
  connection: RegistryConnection;
  name: string;
  project?: string;
  permissions: RobotPermission[];
  description: string;
  duration: number;
  disabled: boolean;
  secretVersion: number;
  secret?: string;
  adopt: boolean;
}

interface RobotOutputs extends RobotInputs {
  robotId: number;
  /** The name clients log in with. */
  fullName: string;
  /** The secret clients log in with. */
  robotSecret: string;
  /** Unix seconds; -1 never. */
  expiresAt: number;
}

/** Permissions in a stable order, so that the registry's ordering never shows as a diff. */
function normalisePermissions(permissions: RobotPermission[]): RobotPermission[] {
  const key = (a: RobotAccess): string => `${a.resource}\0${a.action}`;
  return permissions
    .map((p) => ({
      kind: p.kind,
      namespace: p.namespace,
      access: [...p.access]
        .map((a) => ({ resource: a.resource, action: a.action }))
        .sort((a, b) => key(a).localeCompare(key(b))),
    }))
    .sort((a, b) => `${a.kind}\0${a.namespace}`.localeCompare(`${b.kind}\0${b.namespace}`));
}

function robotBody(inputs: RobotInputs): Record<string, unknown> {
  return {
    name: inputs.name,
    description: inputs.description,
    level: inputs.project === undefined ? "system" : "project",
    duration: inputs.duration,
    disable: inputs.disabled,
    permissions: inputs.permissions,
  };
}

async function refreshSecret(inputs: RobotInputs, robotId: number): Promise<string> {
  const reply = await apiRequest(
    inputs.connection,
    "PATCH",
    `/robots/${robotId}`,
    inputs.secret === undefined ? {} : { secret: inputs.secret },
  );
  return (expectStatus(reply, `refreshing the secret of robot ${inputs.name}`, 200).body as { secret: string }).secret;
}

/** Harbor's rule for a robot secret chosen by the caller. */
function acceptableSecret(secret: unknown): boolean {
  return (
    typeof secret === "string" &&
    secret.length >= 8 &&
    secret.length <= 128 &&
    /[A-Z]/.test(secret) &&
    /[a-z]/.test(secret) &&
    /\d/.test(secret)
  );
}

/**
 * Validates the known inputs and normalises them as the registry keeps them. Unknown values (the
 * connection in a preview, see ../unknowns.ts) are passed on as they are and checked once known;
 * permissions holding an unknown are passed on without being sorted.
 */
export function checkRobot(news: Record<string, unknown>): pulumi.dynamic.CheckResult<RobotInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const name = news["name"];
  // A robot's short name follows the project-name rule, without its length limit.
  if (!isUnknown(name) && (typeof name !== "string" || !PROJECT_NAME.test(name)))
    fail("name", `expected ${PROJECT_NAME_RULE}, got ${JSON.stringify(name)}`);
  const project = news["project"];
  if (project !== undefined && !isUnknown(project) && (typeof project !== "string" || project === ""))
    fail("project", `expected a project name, got ${JSON.stringify(project)}`);
  const given = news["permissions"];
  let permissions: RobotPermission[];
  if (containsUnknown(given)) {
    permissions = given as RobotPermission[];
    // What is known of a list with unknown items can still be wrong.
    if (Array.isArray(given) && given.length === 0) fail("permissions", "expected at least one permission");
  } else if (Array.isArray(given) && given.every(isPermission)) {
    permissions = normalisePermissions(given);
    if (permissions.length === 0) fail("permissions", "expected at least one permission");
    if (
      typeof project === "string" &&
      project !== "" &&
      !isUnknown(project) &&
      (permissions.length !== 1 || permissions[0]?.kind !== "project" || permissions[0]?.namespace !== project)
    ) {
      fail(
        "permissions",
        `a project robot has one permission of kind "project" with namespace ${JSON.stringify(project)}`,
      );
    }
  } else {
    permissions = [];
    fail("permissions", "expected a list of { kind, namespace, access: [{ resource, action }] }");
  }
  const duration = news["duration"] ?? -1;
  if (!isUnknown(duration) && (typeof duration !== "number" || !Number.isInteger(duration) || duration < -1))
    fail("duration", `expected -1 or a number of days, got ${JSON.stringify(duration)}`);
  const secret = news["secret"];
  if (secret !== undefined && !isUnknown(secret) && !acceptableSecret(secret))
    fail("secret", "expected 8 to 128 characters with an upper case letter, a lower case letter and a digit");
  const description = keepUnknown(news["description"] ?? "", (value) => {
    if (typeof value === "string") return value;
    fail("description", `expected a string, got ${JSON.stringify(value)}`);
    return "";
  });
  const secretVersion = keepUnknown(news["secretVersion"] ?? 1, (value) => {
    if (typeof value === "number" && Number.isInteger(value)) return value;
    fail("secretVersion", `expected a whole number, got ${JSON.stringify(value)}`);
    return 1;
  });
  const flag = (key: "disabled" | "adopt"): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      name: keepUnknown(name, String),
      // An unknown project is the sentinel string: passed on like a known one.
      ...(typeof project === "string" && { project }),
      permissions,
      description,
      duration: duration as number,
      disabled: flag("disabled"),
      secretVersion,
      ...(typeof secret === "string" && { secret }),
      adopt: flag("adopt"),
    },
    failures,
  };
}

function isPermission(value: unknown): value is RobotPermission {
  const p = value as Partial<RobotPermission> | null;
  return (
    p !== null &&
    typeof p === "object" &&
    (p.kind === "project" || p.kind === "system") &&
    typeof p.namespace === "string" &&
    Array.isArray(p.access) &&
    p.access.every(
      (a) => a !== null && typeof a === "object" && typeof a.resource === "string" && typeof a.action === "string",
    )
  );
}

export const robotProvider: pulumi.dynamic.ResourceProvider<RobotInputs, RobotOutputs> = {
  async check(_olds, news) {
    return checkRobot(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = (["name", "project"] as const).filter((key) => olds[key] !== news[key]);
    const keys = ["description", "duration", "disabled", "secretVersion", "secret"] as const;
    const changes =
      replaces.length > 0 ||
      keys.some((key) => olds[key] !== news[key]) ||
      JSON.stringify(olds.permissions) !== JSON.stringify(news.permissions) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const reply = await apiRequest(inputs.connection, "POST", "/robots", {
      ...robotBody(inputs),
      ...(inputs.secret !== undefined && { secret: inputs.secret }),
    });
    // The registry names it <robot_name_prefix><project>+<name>; the prefix is robot$ unless an
    // administrator changed it, so an existing robot is recognised by what follows the prefix.
    const suffix = inputs.project === undefined ? inputs.name : `${inputs.project}+${inputs.name}`;
    const fullName = `robot$${suffix}`;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(
          inputs.connection,
          "GET",
          `/robots?q=${encodeURIComponent(`name=~${suffix}`)}&page=0&page_size=0`,
        ),
        "adopting the robot",
        200,
      );
      const found = (list.body as Array<{ id: number; name: string; expires_at: number }>).find(
        (r) => r.name.endsWith(suffix) && !r.name.slice(0, -suffix.length).includes("+"),
      );
      if (!found) throw new Error(`robot ${fullName} conflicts but cannot be found`);
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/robots/${found.id}`, { ...robotBody(inputs), name: found.name }),
        "adopting the robot",
        200,
      );
      const robotSecret = await refreshSecret(inputs, found.id);
      const live = expectStatus(
        await apiRequest(inputs.connection, "GET", `/robots/${found.id}`),
        "adopting the robot",
        200,
      ).body as { expires_at: number };
      return {
        id: String(found.id),
        outs: { ...inputs, robotId: found.id, fullName: found.name, robotSecret, expiresAt: live.expires_at },
      };
    }
    const what = `creating robot ${fullName}${reply.status === 409 ? " (it exists: set adopt to take it over)" : ""}`;
    const made = expectStatus(reply, what, 201).body as {
      id: number;
      name: string;
      secret: string;
      expires_at: number;
    };
    return {
      id: String(made.id),
      outs: { ...inputs, robotId: made.id, fullName: made.name, robotSecret: made.secret, expiresAt: made.expires_at },
    };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(props.connection, "GET", `/robots/${id}`);
    if (reply.status === 404) return { id: "", props };
    const live = expectStatus(reply, `reading robot ${props.fullName}`, 200).body as {
      name: string;
      description: string;
      duration: number;
      disable: boolean;
      expires_at: number;
      permissions: RobotPermission[];
    };
    const inputs: RobotInputs = {
      ...props,
      description: live.description,
      duration: live.duration,
      disabled: live.disable,
      permissions: normalisePermissions(live.permissions),
    };
    const { robotId, robotSecret } = props;
    // The name clients log in with follows the registry's robot name prefix.
    return {
      id,
      props: { ...inputs, robotId, fullName: live.name, robotSecret, expiresAt: live.expires_at },
      inputs: readInputs<RobotOutputs>(inputs),
    };
  },

  async update(id, olds, news) {
    const robotId = Number(id);
    expectStatus(
      await apiRequest(news.connection, "PUT", `/robots/${robotId}`, { ...robotBody(news), name: olds.fullName }),
      `updating robot ${olds.fullName}`,
      200,
    );
    const rotate = olds.secretVersion !== news.secretVersion || olds.secret !== news.secret;
    const robotSecret = rotate ? await refreshSecret(news, robotId) : olds.robotSecret;
    const live = expectStatus(
      await apiRequest(news.connection, "GET", `/robots/${robotId}`),
      `reading robot ${olds.fullName}`,
      200,
    ).body as { expires_at: number };
    return { outs: { ...news, robotId, fullName: olds.fullName, robotSecret, expiresAt: live.expires_at } };
  },

  async delete(id, props) {
    expectStatus(
      await apiRequest(props.connection, "DELETE", `/robots/${id}`),
      `deleting robot ${props.fullName}`,
      200,
      404,
    );
  },
};

/** Pull-only (or pull and push) access to one project's repositories, for a project robot. */
export function projectAccess(project: string, actions: Array<"pull" | "push" | "delete">): RobotPermission[] {
  return [
    {
      kind: "project",
      namespace: project,
      access: actions.map((action) =>
        action === "delete" ? { resource: "artifact", action } : { resource: "repository", action },
      ),
    },
  ];
}

/** The provider, recording which stack declared the RobotAccount (./declaration.ts). */
const declaredRobotProvider = declaredProvider("robot", (outs) => outs.fullName, robotProvider);

/** A robot account; `fullName` and `robotSecret` are what clients log in with. */
export class RobotAccount extends pulumi.dynamic.Resource {
  declare readonly robotId: pulumi.Output<number>;
  declare readonly fullName: pulumi.Output<string>;
  declare readonly robotSecret: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<number>;

  constructor(name: string, args: RobotAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredRobotProvider,
      name,
      {
        declaration: declaredBy(name, "RobotAccount", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        ...(args.secret !== undefined && { secret: pulumi.secret(args.secret) }),
        robotId: undefined,
        fullName: undefined,
        robotSecret: undefined,
        expiresAt: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["robotSecret", "secret"] }),
      "registry",
      "RobotAccount",
    );
  }
}
