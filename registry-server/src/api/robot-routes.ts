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
  type ProjectRecord,
  type RobotPermission,
  type RobotRecord,
} from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ADMIN_ROLES, type ApiAccess } from "./api-access.ts";
import { paging, parseQuery, readJson, setPageHeaders, time } from "./harbor-http.ts";

/** What "duration 0" means: Harbor's default robot lifetime. */
const DEFAULT_DURATION_DAYS = 30;
const DAY_SECONDS = 86_400;
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

export function expiresAt(createdAt: Date, durationDays: number): number {
  if (durationDays === -1) return -1;
  const days = durationDays === 0 ? DEFAULT_DURATION_DAYS : durationDays;
  return Math.floor(createdAt.getTime() / 1000) + days * DAY_SECONDS;
}

function robotJson(robot: RobotRecord): Record<string, unknown> {
  return {
    id: robot.id,
    name: robot.name,
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
}

const ROBOTS = /^\/api\/v2\.0\/robots\/?$/;
const ROBOT = /^\/api\/v2\.0\/robots\/(?<id>\d+)$/;

export function addRobotRoutes(router: Router, deps: RobotRouteDeps): void {
  const { store, access } = deps;

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

  /** May the caller manage this robot (or one with these permissions)? */
  async function requireManager(
    ctx: RequestContext,
    level: "system" | "project",
    permissions: readonly RobotPermission[],
  ): Promise<Principal> {
    if (level === "system") return access.requireSysadmin(ctx.req);
    return access.requireRole(ctx.req, await robotProject(permissions), ADMIN_ROLES);
  }

  async function existing(ctx: RequestContext): Promise<RobotRecord> {
    const robot = await store.robots.get(Number(ctx.params["id"]));
    if (!robot) {
      await access.requireCaller(ctx.req);
      throw new HarborError("NOT_FOUND", "robot not found");
    }
    await requireManager(ctx, robot.level, robot.permissions);
    return robot;
  }

  router.add("robot_create", "POST", ROBOTS, async (ctx) => {
    await access.requireCaller(ctx.req);
    const body = await readJson(ctx.req, robotCreateSchema);
    const caller = await requireManager(ctx, body.level, body.permissions);
    const project = body.level === "project" ? await robotProject(body.permissions) : undefined;
    const name = project ? `${ROBOT_PREFIX}${project.name}+${body.name}` : `${ROBOT_PREFIX}${body.name}`;
    const secret = body.secret ?? generateSecret();
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
          expiresAt: expiresAt(now, body.duration),
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
    await store.audit.append({
      username: caller.username,
      resource: name,
      resourceType: "robot",
      operation: "create",
      success: true,
      ...(project && { projectId: project.id }),
      opTime: now,
    });
    ctx.res.setHeader("Location", `/api/v2.0/robots/${robot.id}`);
    sendJson(ctx.res, 201, {
      id: robot.id,
      name: robot.name,
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
      await access.requireRole(ctx.req, project, ADMIN_ROLES);
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
    sendJson(ctx.res, 200, listing.items.map(robotJson));
  });

  router.add("robot_get", "GET", ROBOT, async (ctx) => {
    sendJson(ctx.res, 200, robotJson(await existing(ctx)));
  });

  router.add("robot_update", "PUT", ROBOT, async (ctx) => {
    const robot = await existing(ctx);
    const body = await readJson(ctx.req, robotUpdateSchema);
    if (body.name !== undefined && body.name !== robot.name)
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
        expiresAt: expiresAt(robot.createdAt, duration),
      },
      new Date(),
    );
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
    await store.audit.append({
      username: caller.username,
      resource: robot.name,
      resourceType: "robot",
      operation: "delete",
      success: true,
      ...(robot.projectId !== undefined && { projectId: robot.projectId }),
      opTime: new Date(),
    });
    ctx.res.statusCode = 200;
    ctx.res.end();
  });
}
