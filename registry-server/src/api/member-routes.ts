// Harbor's project members API: /api/v2.0/projects/{project_name_or_id}/members[/{mid}]. Members
// are local users with one of Harbor's roles (1 projectAdmin, 2 developer, 3 guest,
// 4 maintainer, 5 limitedGuest); groups are not supported and refused with 400.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError, ROLE_NAMES, type MemberRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ADMIN_ROLES, ANY_ROLE, type ApiAccess } from "./api-access.ts";
import { created, ok, paging, setPageHeaders } from "./harbor-http.ts";
import { readJson } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

const roleId = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]);
/** Harbor's clients send the member object they do not use as `{}`: it means "not given". */
const absentWhenEmpty = (value: unknown): unknown =>
  value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0
    ? undefined
    : value;
const memberSchema = z.object({
  role_id: roleId,
  member_user: z.preprocess(
    absentWhenEmpty,
    z
      .object({ user_id: z.number().int().positive().optional(), username: z.string().min(1).optional() })
      .refine((u) => u.user_id !== undefined || u.username !== undefined, "user_id or username is required")
      .optional(),
  ),
  member_group: z.preprocess(absentWhenEmpty, z.unknown().optional()),
});
const roleSchema = z.object({ role_id: roleId });

const MEMBERS = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/members\/?$/;
const MEMBER = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/members\/(?<mid>\d+)$/;

export function addMemberRoutes(router: Router, deps: { store: MetadataStore; access: ApiAccess }): void {
  const { store, access } = deps;

  async function memberJson(member: MemberRecord): Promise<Record<string, unknown>> {
    const user = await store.users.get(member.userId);
    return {
      id: member.id,
      project_id: member.projectId,
      entity_name: user?.username ?? "",
      role_name: ROLE_NAMES[member.roleId],
      role_id: member.roleId,
      entity_id: member.userId,
      entity_type: "u",
    };
  }

  async function member(ctx: RequestContext, projectId: number): Promise<MemberRecord> {
    const found = await store.members.get(projectId, Number(ctx.params["mid"]));
    if (!found) throw new HarborError("NOT_FOUND", "member not found");
    return found;
  }

  router.add("member_list", "GET", MEMBERS, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ANY_ROLE);
    const entityName = ctx.url.searchParams.get("entityname");
    const all = await Promise.all((await store.members.list(project.id)).map(memberJson));
    const matching = entityName ? all.filter((m) => String(m["entity_name"]).includes(entityName)) : all;
    const page = paging(ctx.url);
    setPageHeaders(ctx.res, ctx.url, page, matching.length);
    sendJson(ctx.res, 200, matching.slice(page.offset, page.offset + page.limit));
  });

  router.add("member_create", "POST", MEMBERS, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    const body = await readJson(ctx.req, memberSchema);
    if (body.member_group !== undefined && body.member_user === undefined) {
      throw new HarborError("BAD_REQUEST", "group members are not supported: add users");
    }
    const wanted = body.member_user;
    if (!wanted) throw new HarborError("BAD_REQUEST", "invalid member_user: a user_id or username is required");
    const user =
      wanted.user_id !== undefined
        ? await store.users.get(wanted.user_id)
        : await store.users.getByName(wanted.username ?? "");
    if (!user) throw new HarborError("NOT_FOUND", "user not found");
    try {
      const added = await store.members.add(project.id, user.id, body.role_id, new Date());
      created(ctx.res, `/api/v2.0/projects/${project.id}/members/${added.id}`);
    } catch (err) {
      if (err instanceof ConflictError)
        throw new HarborError("CONFLICT", `${user.username} is already a member of ${project.name}`);
      throw err;
    }
  });

  router.add("member_get", "GET", MEMBER, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ANY_ROLE);
    sendJson(ctx.res, 200, await memberJson(await member(ctx, project.id)));
  });

  router.add("member_update", "PUT", MEMBER, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    const current = await member(ctx, project.id);
    const body = await readJson(ctx.req, roleSchema);
    await store.members.update(project.id, current.id, body.role_id, new Date());
    ok(ctx.res);
  });

  router.add("member_delete", "DELETE", MEMBER, async (ctx) => {
    const { project } = await visibleProject(ctx, { identity: store, access });
    await access.requireRole(ctx.req, project, ADMIN_ROLES);
    const current = await member(ctx, project.id);
    await store.members.delete(project.id, current.id);
    ok(ctx.res);
  });
}
