// Harbor's robot account as /robots returns it, and the project permissions the portal offers
// when creating one: those of Harbor's list (GET /permissions) that this server's RBAC acts on
// (registry-server/src/api/project-rbac.ts, and pull/push/delete for the registry's own tokens).

export interface RobotAccess {
  readonly resource: string;
  readonly action: string;
  readonly effect?: string;
}

export interface RobotPermission {
  readonly kind: string;
  readonly namespace: string;
  readonly access: readonly RobotAccess[];
}

export interface Robot {
  readonly id: number;
  readonly name: string;
  readonly description?: string;
  readonly level: string;
  readonly duration: number;
  readonly disable: boolean;
  /** Unix seconds; -1 for never. */
  readonly expires_at: number;
  readonly permissions: readonly RobotPermission[];
  readonly creation_time?: string;
}

/** The reply to a creation (POST /robots) or a new secret (PATCH /robots/{id}). */
export interface RobotSecret {
  readonly name: string;
  readonly secret: string;
}

/** Resources and their actions, in the order the form shows them. */
export const ROBOT_RESOURCES = [
  { resource: "repository", actions: ["pull", "push", "delete", "list", "read", "update"] },
  { resource: "artifact", actions: ["read", "list", "delete"] },
  { resource: "tag", actions: ["list", "create", "delete"] },
  { resource: "artifact-addition", actions: ["read"] },
  { resource: "accessory", actions: ["list"] },
  { resource: "scan", actions: ["create", "read", "stop"] },
  { resource: "scanner", actions: ["read", "create"] },
  { resource: "tag-retention", actions: ["read", "list", "create", "update", "delete"] },
  { resource: "immutable-tag", actions: ["list", "create", "update", "delete"] },
  { resource: "notification-policy", actions: ["read", "list", "create", "update", "delete"] },
] as const;

export type RobotResource = (typeof ROBOT_RESOURCES)[number]["resource"];

/** "resource:action" of each chosen permission. */
export type Grant = `${string}:${string}`;

/** Harbor's project robot permissions for a set of grants. */
export function projectPermissions(project: string, grants: ReadonlySet<Grant>): RobotPermission[] {
  return [
    {
      kind: "project",
      namespace: project,
      access: [...grants].map((grant) => {
        const [resource = "", action = ""] = grant.split(":");
        return { resource, action };
      }),
    },
  ];
}

/** Actions granted, by resource, in the order they were given. */
export function grantsByResource(permissions: readonly RobotPermission[]): Map<string, string[]> {
  const byResource = new Map<string, string[]>();
  for (const permission of permissions) {
    for (const access of permission.access) {
      if (access.effect === "deny") continue;
      const actions = byResource.get(access.resource) ?? [];
      if (!actions.includes(access.action)) actions.push(access.action);
      byResource.set(access.resource, actions);
    }
  }
  return byResource;
}

export function isExpired(robot: Robot, nowSeconds: number): boolean {
  return robot.expires_at !== -1 && robot.expires_at <= nowSeconds;
}
