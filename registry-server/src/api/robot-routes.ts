// Harbor's robot accounts (v2) API: /api/v2.0/robots and /robots/{id}. A system robot is named
// robot$<name> and may hold permissions on several projects ("*" for all); a project robot is
// named robot$<project>+<name> and holds permissions on its project only. The secret is shown
// once, at creation and on refresh (PATCH), and stored only as a hash. `duration` is in days
// (-1: never expires).

import { randomInt } from "node:crypto";
import { z } from "zod";
import { ROBOT_PREFIX } from "../auth/credential-authenticator.ts";
import { hashPassword } from "../auth/password-hash.ts";
import type { Principal } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import {
  ConflictError,
  ROLES,
  type ProjectRecord,
  type RobotPermission,
  type RobotRecord,
  type RoleId,
} from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { SystemSettings } from "../settings/system-settings.ts";
import type { AuditLog } from "./audit-log.ts";
import { ADMIN_ROLES, type ApiAccess } from "./api-access.ts";
import { paging, parseQuery, readJson, setPageHeaders, time } from "./harbor-http.ts";

const DAY_SECONDS = 86_400;
/**
 * Who may list and read a project's robots: the project roles Harbor grants robot read and list
 * (its rbac_role.go: every role but the limited guest). Creating, changing and deleting them stays
 * the project admin's (ADMIN_ROLES); the secret is never shown again in either case.
 */
const READER_ROLES: readonly RoleId[] = [ROLES.projectAdmin, ROLES.maintainer, ROLES.developer, ROLES.guest];
const SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
const ROBOT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Harbor's rule for a chosen secret: 8 to 128 characters with an upper, a lower case letter and a digit. */
export function isAcceptableSecret(secret: string): boolean {
  return (
    secret.length >= 8 && secret.length <= 128 && /[A-Z]/.test(secret) && /[a-z]/.test(secret) && /\d/.test(secret)
  );
}

export function generateSecret(): string {
  // Always meets the rule above: retry the rare draw that misses a class.
  for (;;) {
    const secret = Array.from({ length: 32 }, () => SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)]).join("");
    if (isAcceptableSecret(secret)) return secret;
  }
}

const accessSchema = z.strictObject({
  resource: z.string().min(1),
  action: z.string().min(1),
  effect: z.enum(["allow", "deny"]).optional(),
});
const permissionSchema = z.strictObject({
  kind: z.enum(["project", "system"]),
  namespace: z.string().min(1),
  access: z.array(accessSchema),
});
const secretSchema = z
  .string()
  .refine(isAcceptableSecret, "8 to 128 characters with an upper case letter, a lower case letter and a digit");
const robotCreateSchema = z.object({
  name: z.string().min(1).max(255).regex(ROBOT_NAME, "lowercase letters, digits and . _ - separators"),
  description: z.string().max(1024).default(""),
  secret: secretSchema.optional(),
  level: z.enum(["system", "project"]),
  disable: z.boolean().default(false),
  duration: z.number().int().min(-1).default(-1),
  permissions: z.array(permissionSchema).min(1),
});
const robotUpdateSchema = z.object({
  name: z.string().optional(),
  description: z.string().max(1024).optional(),
  level: z.enum(["system", "project"]).optional(),
  disable: z.boolean().optional(),
  duration: z.number().int().min(-1).optional(),
  permissions: z.array(permissionSchema).min(1).optional(),
});
const robotSecretSchema = z.object({ secret: secretSchema.optional() }).nullable();

/** Unix seconds a robot expires at; `duration` 0 means the system's default lifetime. */
export function expiresAt(createdAt: Date, durationDays: number, defaultDays: number): number {
  if (durationDays === -1) return -1;
  const days = durationDays === 0 ? defaultDays : durationDays;
  return Math.floor(createdAt.getTime() / 1000) + days * DAY_SECONDS;
}

/**
 * A robot's name as clients see and log in with it: the `robot_name_prefix` setting in front of
 * the name stored after ROBOT_PREFIX (so that changing the prefix renames every robot, as in
 * Harbor, without rewriting them).
 */
export function robotDisplayName(stored: string, prefix: string): string {
  return stored.startsWith(ROBOT_PREFIX) ? prefix + stored.slice(ROBOT_PREFIX.length) : stored;
}

function robotJson(robot: RobotRecord, prefix: string): Record<string, unknown> {
  return {
    id: robot.id,
    name: robotDisplayName(robot.name, prefix),
    description: robot.description,
    level: robot.level,
    duration: robot.duration,
    editable: true,
    disable: robot.disabled,
    expires_at: robot.expiresAt,
    permissions: robot.permissions,
    creation_time: time(robot.createdAt),
    update_time: time(robot.updatedAt),
  };
}

export interface RobotRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  settings: { current(): Promise<Pick<SystemSettings, "robotNamePrefix" | "robotTokenDurationDays">> };
  audit: AuditLog;
}

/** The name a robot was created with: what follows `robot$` or `robot$<project>+`. */
function shortName(robot: RobotRecord): string {
  const bare = robot.name.slice(ROBOT_PREFIX.length);
  return robot.level === "project" ? bare.slice(bare.indexOf("+") + 1) : bare;
}

const ROBOTS = /^\/api\/v2\.0\/robots\/?$/;
const ROBOT = /^\/api\/v2\.0\/robots\/(?<id>\d+)$/;

export function addRobotRoutes(router: Router, deps: RobotRouteDeps): void {
  const { store, access, settings, audit } = deps;

  /** Records a robot change in the audit log, under its project for a project robot. */
  function record(caller: Principal, robot: RobotRecord, operation: string, project?: string): void {
    audit.record({
      username: caller.username,
      resource: robot.name,
      resourceType: "robot",
      operation,
      success: true,
      ...(project !== undefined && { project }),
    });
  }

  async function projectName(robot: RobotRecord): Promise<string | undefined> {
    return robot.projectId === undefined ? undefined : (await store.projects.get(robot.projectId))?.name;
  }

  /** The project of a project robot's permissions; exactly one, naming an existing project. */
  async function robotProject(permissions: readonly RobotPermission[]): Promise<ProjectRecord> {
    const [permission, ...others] = permissions;
    if (!permission || others.length > 0 || permission.kind !== "project") {
      throw new HarborError("BAD_REQUEST", "a project robot has exactly one permission, of kind project");
    }
    const project = await store.projects.getByName(permission.namespace);
    if (!project) throw new HarborError("NOT_FOUND", `project ${permission.namespace} not found`);
    return project;
  }

  /**
   * May the caller manage this robot (or one with these permissions)? With `roles` READER_ROLES,
   * may they read it? System robots are the administrator's either way.
   */
  async function requireManager(
    ctx: RequestContext,
    level: "system" | "project",
    permissions: readonly RobotPermission[],
    roles: readonly RoleId[] = ADMIN_ROLES,
  ): Promise<Principal> {
    if (level === "system") return access.requireSysadmin(ctx.req);
    return access.requireRole(ctx.req, await robotProject(permissions), roles);
  }

  /** The robot of the path, once the caller may act on it with one of `roles` (managers by default). */
  async function existing(ctx: RequestContext, roles: readonly RoleId[] = ADMIN_ROLES): Promise<RobotRecord> {
    const robot = await store.robots.get(Number(ctx.params["id"]));
    if (!robot) {
      await access.requireCaller(ctx.req);
      throw new HarborError("NOT_FOUND", "robot not found");
    }
    await requireManager(ctx, robot.level, robot.permissions, roles);
    return robot;
  }

  router.add("robot_create", "POST", ROBOTS, async (ctx) => {
    await access.requireCaller(ctx.req);
    const body = await readJson(ctx.req, robotCreateSchema);
    const caller = await requireManager(ctx, body.level, body.permissions);
    const project = body.level === "project" ? await robotProject(body.permissions) : undefined;
    const name = project ? `${ROBOT_PREFIX}${project.name}+${body.name}` : `${ROBOT_PREFIX}${body.name}`;
    const secret = body.secret ?? generateSecret();
    const system = await settings.current();
    const now = new Date();
    let robot: RobotRecord;
    try {
      robot = await store.robots.create(
        {
          name,
          description: body.description,
          level: body.level,
          ...(project && { projectId: project.id }),
          duration: body.duration,
          expiresAt: expiresAt(now, body.duration, system.robotTokenDurationDays),
          disabled: body.disable,
          secretHash: await hashPassword(secret),
          permissions: body.permissions,
        },
        now,
      );
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", `robot ${name} already exists`);
      throw err;
    }
    record(caller, robot, "create", project?.name);
    ctx.res.setHeader("Location", `/api/v2.0/robots/${robot.id}`);
    sendJson(ctx.res, 201, {
      id: robot.id,
      name: robotDisplayName(robot.name, system.robotNamePrefix),
      secret,
      creation_time: time(robot.createdAt),
      expires_at: robot.expiresAt,
    });
  });

  router.add("robot_list", "GET", ROBOTS, async (ctx) => {
    const page = paging(ctx.url);
    const query = parseQuery(ctx.url);
    const level = query.get("Level")?.value;
    const projectIdText = query.get("ProjectID")?.value;
    const projectId = projectIdText !== undefined ? Number(projectIdText) : undefined;
    if (projectId !== undefined) {
      const project = await store.projects.get(projectId);
      if (!project) throw new HarborError("NOT_FOUND", "project not found");
      await access.requireRole(ctx.req, project, READER_ROLES);
    } else {
      await access.requireSysadmin(ctx.req);
    }
    const name = query.get("name")?.value;
    const listing = await store.robots.list(
      {
        ...(level === "system" || level === "project" ? { level } : {}),
        ...(projectId !== undefined && { projectId }),
        ...(name !== undefined && { name }),
      },
      page,
    );
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    const { robotNamePrefix } = await settings.current();
    sendJson(
      ctx.res,
      200,
      listing.items.map((robot) => robotJson(robot, robotNamePrefix)),
    );
  });

  router.add("robot_get", "GET", ROBOT, async (ctx) => {
    const robot = await existing(ctx, READER_ROLES);
    sendJson(ctx.res, 200, robotJson(robot, (await settings.current()).robotNamePrefix));
  });

  router.add("robot_update", "PUT", ROBOT, async (ctx) => {
    const robot = await existing(ctx);
    const caller = await access.requireCaller(ctx.req);
    const body = await readJson(ctx.req, robotUpdateSchema);
    const system = await settings.current();
    // Clients send back the name they read (prefixed), or the short one they created it with.
    const names = [robot.name, robotDisplayName(robot.name, system.robotNamePrefix), shortName(robot)];
    if (body.name !== undefined && !names.includes(body.name))
      throw new HarborError("BAD_REQUEST", "a robot cannot be renamed");
    if (body.level !== undefined && body.level !== robot.level)
      throw new HarborError("BAD_REQUEST", "a robot's level cannot change");
    if (
      body.permissions &&
      robot.level === "project" &&
      (await robotProject(body.permissions)).id !== robot.projectId
    ) {
      throw new HarborError("BAD_REQUEST", "a project robot stays in its project");
    }
    const duration = body.duration ?? robot.duration;
    await store.robots.update(
      robot.id,
      {
        ...(body.description !== undefined && { description: body.description }),
        ...(body.disable !== undefined && { disabled: body.disable }),
        ...(body.permissions !== undefined && { permissions: body.permissions }),
        duration,
        expiresAt: expiresAt(robot.createdAt, duration, system.robotTokenDurationDays),
      },
      new Date(),
    );
    record(caller, robot, "update", await projectName(robot));
    ctx.res.statusCode = 200;
    ctx.res.end();
  });

  router.add("robot_refresh_secret", "PATCH", ROBOT, async (ctx) => {
    const robot = await existing(ctx);
    const body = await readJson(ctx.req, robotSecretSchema);
    const secret = body?.secret ?? generateSecret();
    await store.robots.update(robot.id, { secretHash: await hashPassword(secret) }, new Date());
    sendJson(ctx.res, 200, { secret });
  });

  router.add("robot_delete", "DELETE", ROBOT, async (ctx) => {
    const robot = await existing(ctx);
    const caller = await access.requireCaller(ctx.req);
    await store.robots.delete(robot.id);
    record(caller, robot, "delete", await projectName(robot));
    ctx.res.statusCode = 200;
    ctx.res.end();
  });
}
