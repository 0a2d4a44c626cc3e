// Harbor's users API for local users: /api/v2.0/users (create and list: administrator only),
// /users/current, /users/search, /users/{id} (the user or the administrator), its password and
// sysadmin flag. Passwords follow Harbor's rule and are stored as scrypt hashes. A changed
// password ends the user's portal sessions (but the one it was changed through); a deleted user's
// go with the row.

import { z } from "zod";
import { hashPassword, verifyPassword } from "../auth/password-hash.ts";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import type { SessionService } from "../auth/session-service.ts";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError, type UserRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import {
  created,
  ok,
  paging,
  parseQuery,
  readJson,
  setPageHeaders,
  termMatches,
  time,
  UNPAGED_LIMIT,
} from "./harbor-http.ts";

/** Harbor's password rule: 8 to 128 characters with an upper case letter, a lower case letter and a digit. */
export function isAcceptablePassword(password: string): boolean {
  return (
    password.length >= 8 &&
    password.length <= 128 &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    /\d/.test(password)
  );
}

const password = z
  .string()
  .refine(isAcceptablePassword, "8 to 128 characters with an upper case letter, a lower case letter and a digit");
const username = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^,"~#$%:\s]+$/, 'no spaces and none of , " ~ # $ % :')
  .refine((name) => !name.startsWith("robot$"), "robot$ is reserved for robot accounts");
const email = z.union([z.literal(""), z.email()]);
const userCreateSchema = z.object({
  username,
  email: email.default(""),
  realname: z.string().max(255).default(""),
  comment: z.string().max(1024).default(""),
  password,
});
const profileSchema = z.object({
  email: email.optional(),
  realname: z.string().max(255).optional(),
  comment: z.string().max(1024).optional(),
});
const passwordSchema = z.object({ old_password: z.string().optional(), new_password: password });
const sysadminSchema = z.object({ sysadmin_flag: z.boolean() });

export function userJson(user: UserRecord): Record<string, unknown> {
  return {
    user_id: user.id,
    username: user.username,
    email: user.email,
    realname: user.realname,
    comment: user.comment,
    sysadmin_flag: user.sysadmin,
    admin_role_in_auth: false,
    creation_time: time(user.createdAt),
    update_time: time(user.updatedAt),
  };
}

const USERS = /^\/api\/v2\.0\/users\/?$/;
const USER = /^\/api\/v2\.0\/users\/(?<id>\d+)$/;

export function addUserRoutes(
  router: Router,
  deps: { store: MetadataStore; access: ApiAccess; sessions: Pick<SessionService, "revokeUser"> },
): void {
  const { store, access, sessions } = deps;

  /** The user of the path, if the caller is that user or the administrator. */
  async function ownOrAdmin(ctx: RequestContext): Promise<{ user: UserRecord; caller: Principal }> {
    const caller = await access.requireCaller(ctx.req);
    const id = Number(ctx.params["id"]);
    const self = caller.kind === "user" && caller.userId === id;
    if (!self && !isSysadmin(caller)) throw new HarborError("FORBIDDEN", "forbidden");
    const user = await store.users.get(id);
    if (!user) throw new HarborError("NOT_FOUND", "user not found");
    return { user, caller };
  }

  router.add("user_create", "POST", USERS, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const body = await readJson(ctx.req, userCreateSchema);
    try {
      const user = await store.users.create(
        {
          username: body.username,
          email: body.email,
          realname: body.realname,
          comment: body.comment,
          passwordHash: await hashPassword(body.password),
          sysadmin: false,
        },
        new Date(),
      );
      created(ctx.res, `/api/v2.0/users/${user.id}`);
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", "username or email already in use");
      throw err;
    }
  });

  router.add("user_list", "GET", USERS, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const page = paging(ctx.url);
    const query = parseQuery(ctx.url);
    const nameTerm = query.get("username");
    const emailTerm = query.get("email");
    let listing: { items: UserRecord[]; total: number };
    if (!nameTerm && !emailTerm) {
      listing = await store.users.list({}, page);
    } else {
      // Harbor's exact, fuzzy (any case) and list matches; an exact name narrows the look-up first.
      const exact = nameTerm && !nameTerm.fuzzy && !nameTerm.list && !nameTerm.range;
      const coarse = exact ? { username: nameTerm.value } : {};
      const candidates = await store.users.list(coarse, { offset: 0, limit: UNPAGED_LIMIT });
      const matching = candidates.items.filter(
        (user) =>
          (!nameTerm || termMatches(nameTerm, user.username)) && (!emailTerm || termMatches(emailTerm, user.email)),
      );
      listing = { items: matching.slice(page.offset, page.offset + page.limit), total: matching.length };
    }
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(userJson));
  });

  router.add("user_current", "GET", /^\/api\/v2\.0\/users\/current$/, async (ctx) => {
    const caller = await access.requireCaller(ctx.req);
    const user = caller.kind === "user" ? await store.users.get(caller.userId) : undefined;
    if (!user) throw new HarborError("NOT_FOUND", "robot accounts have no user profile");
    sendJson(ctx.res, 200, userJson(user));
  });

  router.add("user_search", "GET", /^\/api\/v2\.0\/users\/search$/, async (ctx) => {
    await access.requireCaller(ctx.req);
    const name = ctx.url.searchParams.get("username");
    if (!name) throw new HarborError("BAD_REQUEST", "username is required");
    const page = paging(ctx.url);
    const listing = await store.users.list({ username: name }, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(
      ctx.res,
      200,
      listing.items.map((u) => ({ user_id: u.id, username: u.username })),
    );
  });

  router.add("user_get", "GET", USER, async (ctx) => {
    sendJson(ctx.res, 200, userJson((await ownOrAdmin(ctx)).user));
  });

  router.add("user_update", "PUT", USER, async (ctx) => {
    const { user } = await ownOrAdmin(ctx);
    const body = await readJson(ctx.req, profileSchema);
    try {
      await store.users.update(user.id, body, new Date());
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", "email already in use");
      throw err;
    }
    ok(ctx.res);
  });

  router.add("user_password", "PUT", /^\/api\/v2\.0\/users\/(?<id>\d+)\/password$/, async (ctx) => {
    const { user, caller } = await ownOrAdmin(ctx);
    const body = await readJson(ctx.req, passwordSchema);
    // Users changing their own password prove they know the old one; the administrator resets.
    const self = caller.kind === "user" && caller.userId === user.id;
    if (self && body.old_password === undefined) throw new HarborError("BAD_REQUEST", "invalid old_password: required");
    if (self && !(await verifyPassword(body.old_password ?? "", user.passwordHash))) {
      throw new HarborError("FORBIDDEN", "the old password is wrong");
    }
    await store.users.update(user.id, { passwordHash: await hashPassword(body.new_password) }, new Date());
    // Whoever knew the old password may hold a session: it ends (the caller's own stays).
    await sessions.revokeUser(user.id, ctx.req);
    ok(ctx.res);
  });

  router.add("user_sysadmin", "PUT", /^\/api\/v2\.0\/users\/(?<id>\d+)\/sysadmin$/, async (ctx) => {
    const caller = await access.requireSysadmin(ctx.req);
    const body = await readJson(ctx.req, sysadminSchema);
    const id = Number(ctx.params["id"]);
    if (caller.kind === "user" && caller.userId === id)
      throw new HarborError("BAD_REQUEST", "you cannot change your own administrator flag");
    if (!(await store.users.update(id, { sysadmin: body.sysadmin_flag }, new Date())))
      throw new HarborError("NOT_FOUND", "user not found");
    ok(ctx.res);
  });

  router.add("user_delete", "DELETE", USER, async (ctx) => {
    const caller = await access.requireSysadmin(ctx.req);
    const id = Number(ctx.params["id"]);
    if (caller.kind === "user" && caller.userId === id)
      throw new HarborError("BAD_REQUEST", "you cannot delete yourself");
    if (!(await store.users.delete(id))) throw new HarborError("NOT_FOUND", "user not found");
    ok(ctx.res);
  });
}
