// Harbor's immutable tag rules API (src/server/v2.0/handler/immutable.go):
// /projects/{project_name_or_id}/immutabletagrules (GET lists the project's rules by id with
// X-Total-Count; POST creates one, 201 and its Location) and /{immutable_rule_id} (PUT changes it,
// the id in the body must be the path's; DELETE removes it). Harbor's `immutable-tag` permission
// in the project: project administrators and maintainers. A rule the same as one the project has
// is a 409, as Harbor's unique (project, rule) constraint makes it. The rules are enforced by
// immutability/immutable-tag-guard.ts.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { immutableRuleSchema, type ImmutableRule } from "../immutability/immutable-rule.ts";
import type { LifecycleAreas } from "../metadata/lifecycle-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, ok, paging, readJson, setPageHeaders } from "./harbor-http.ts";
import { visibleProject } from "./project-routes.ts";

const RULES = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/immutabletagrules\/?$/;
const RULE = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/immutabletagrules\/(?<id>\d+)\/?$/;

export interface ImmutableRuleRouteDeps {
  store: MetadataStore & Pick<LifecycleAreas, "immutableRules">;
  access: ApiAccess;
}

/** What is stored of a rule: its selectors and the rest of Harbor's model, not its ids or state. */
function ruleDocument(rule: ImmutableRule): string {
  const { id: _id, project_id: _project, disabled: _disabled, ...rest } = rule;
  return JSON.stringify(rest);
}

export function addImmutableRuleRoutes(router: Router, deps: ImmutableRuleRouteDeps): void {
  const { store, access } = deps;

  async function project(ctx: RequestContext, action: "list" | "create" | "update" | "delete") {
    const { project: found } = await visibleProject(ctx, { identity: store, access });
    await access.requirePermission(ctx.req, found, "immutable-tag", action);
    return found;
  }

  /** Harbor's 409 for a rule the project has already (ignoring `except` one, being updated). */
  async function refuseDuplicate(projectId: number, document: string, except?: number): Promise<void> {
    const { items } = await store.immutableRules.list(projectId, { offset: 0, limit: 1_000 });
    if (items.some((rule) => rule.id !== except && rule.rule === document)) {
      throw new HarborError("CONFLICT", "immutable rule already exists");
    }
  }

  router.add("immutable_rules_list", "GET", RULES, async (ctx) => {
    const found = await project(ctx, "list");
    const page = paging(ctx.url);
    const listing = await store.immutableRules.list(found.id, page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(
      ctx.res,
      200,
      listing.items.map((record) => ({
        ...(JSON.parse(record.rule) as Record<string, unknown>),
        id: record.id,
        project_id: record.projectId,
        disabled: record.disabled,
        priority: record.priority,
      })),
    );
  });

  router.add("immutable_rule_create", "POST", RULES, async (ctx) => {
    const found = await project(ctx, "create");
    const rule = await readJson(ctx.req, immutableRuleSchema);
    const document = ruleDocument(rule);
    await refuseDuplicate(found.id, document);
    const record = await store.immutableRules.create(
      found.id,
      { disabled: rule.disabled, priority: rule.priority, rule: document },
      new Date(),
    );
    created(ctx.res, `${ctx.url.pathname.replace(/\/$/, "")}/${record.id}`);
  });

  router.add("immutable_rule_update", "PUT", RULE, async (ctx) => {
    const rule = await readJson(ctx.req, immutableRuleSchema);
    const id = Number(ctx.params["id"]);
    if (rule.id !== id) {
      throw new HarborError(
        "BAD_REQUEST",
        "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule",
      );
    }
    const found = await project(ctx, "update");
    const document = ruleDocument(rule);
    await refuseDuplicate(found.id, document, id);
    const updated = await store.immutableRules.update(found.id, id, {
      disabled: rule.disabled,
      priority: rule.priority,
      rule: document,
    });
    if (!updated) throw new HarborError("NOT_FOUND", `project id ${found.id} does not match`);
    ok(ctx.res);
  });

  router.add("immutable_rule_delete", "DELETE", RULE, async (ctx) => {
    const found = await project(ctx, "delete");
    if (!(await store.immutableRules.delete(found.id, Number(ctx.params["id"])))) {
      throw new HarborError("NOT_FOUND", `project id ${found.id} does not match`);
    }
    ok(ctx.res);
  });
}
