// Harbor's webhook policies API (src/server/v2.0/handler/webhook.go): /projects/{p}/webhook/policies
// (GET lists with `q` on name, description, creator and enabled, `sort`, paging, X-Total-Count and
// Link; POST creates, 201 with Location and an empty body), /policies/{id} (GET, PUT replacing the
// policy, DELETE), /webhook/events (the event types, notify types and payload formats) and the
// deprecated /webhook/lasttrigger. Harbor's `notification-policy` permission in the project:
// project administrators for everything, maintainers to list. A name the project has is Harbor's
// 409 ("notification policy named X already exists"); a policy of another project is a 404.
// A policy's deliveries are under webhook-job-routes.ts.

import type { IncomingMessage } from "node:http";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError, type ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { WebhookPolicyFilter, WebhookPolicyRecord } from "../metadata/webhook-store.ts";
import { WEBHOOK_EVENT_TYPES } from "../webhook/event-payload.ts";
import { PAYLOAD_FORMATS } from "../webhook/payload-format.ts";
import type { WebhookPolicies } from "../webhook/webhook-policies.ts";
import { checkPolicy, NOTIFY_TYPES, webhookPolicyBody, type WebhookPolicyInput } from "../webhook/webhook-policy.ts";
import type { ApiAccess } from "./api-access.ts";
import { parseSort } from "./content-queries.ts";
import { created, ok, paging, parseQuery, readJson, setPageHeaders, time, type QueryTerm } from "./harbor-http.ts";
import type { ProjectAction } from "./project-rbac.ts";
import { visibleProject } from "./project-routes.ts";

const PROJECT = "^/api/v2\\.0/projects/(?<project>[^/]+)/webhook";
const POLICIES = new RegExp(`${PROJECT}/policies/?$`);
const POLICY = new RegExp(`${PROJECT}/policies/(?<id>\\d+)/?$`);
const EVENTS = new RegExp(`${PROJECT}/events/?$`);
const LAST_TRIGGER = new RegExp(`${PROJECT}/lasttrigger/?$`);

/** Go's zero time, which Harbor's lasttrigger shows for a policy never triggered. */
const ZERO_TIME = "0001-01-01T00:00:00.000Z";

export interface WebhookPolicyRouteDeps {
  store: MetadataStore;
  policies: WebhookPolicies;
  access: ApiAccess;
}

/** The project of the path, once the caller may act on its webhook policies. */
export async function webhookProject(
  ctx: RequestContext,
  deps: Pick<WebhookPolicyRouteDeps, "store" | "access">,
  action: ProjectAction,
): Promise<{ project: ProjectRecord; callerName: string }> {
  const { project, caller } = await visibleProject(ctx, { identity: deps.store, access: deps.access });
  await deps.access.requirePermission(ctx.req, project, "notification-policy", action);
  return { project, callerName: caller?.username ?? "" };
}

/** The path's policy, a 404 when it is not one of `project`'s (webhook.go's requirePolicyInProject). */
export async function policyOfPath(
  ctx: RequestContext,
  store: Pick<MetadataStore, "webhookPolicies">,
  project: ProjectRecord,
): Promise<WebhookPolicyRecord> {
  const id = Number(ctx.params["id"]);
  const record = await store.webhookPolicies.get(id);
  if (!record) throw new HarborError("NOT_FOUND", `notificationPolicy ${id} not found`);
  if (record.projectId !== project.id) {
    throw new HarborError("NOT_FOUND", `project id:${project.id}, webhook policy id: ${id} not found`);
  }
  return record;
}

function textTerm(term: QueryTerm | undefined): { value: string; fuzzy: boolean } | undefined {
  if (!term || term.range || term.list) return undefined;
  return { value: term.value, fuzzy: term.fuzzy };
}

/** Harbor's `q` and `sort` for the policies' columns; other keys are ignored, as Harbor's ORM would refuse them. */
function policyFilter(url: URL, projectId: number): WebhookPolicyFilter {
  const terms = parseQuery(url);
  const name = textTerm(terms.get("name"));
  const description = textTerm(terms.get("description"));
  const creator = textTerm(terms.get("creator"));
  const enabled = terms.get("enabled")?.value;
  const sort = parseSort(url, {
    id: "id",
    name: "name",
    creation_time: "creation_time",
    update_time: "update_time",
  } as const);
  return {
    projectId,
    ...(name && { name }),
    ...(description && { description }),
    ...(creator && { creator }),
    ...((enabled === "true" || enabled === "false") && { enabled: enabled === "true" }),
    ...(sort.length > 0 && { sort }),
  };
}

async function readPolicy(req: IncomingMessage): Promise<WebhookPolicyInput> {
  const checked = checkPolicy(await readJson(req, webhookPolicyBody));
  if ("problem" in checked) throw new HarborError("BAD_REQUEST", checked.problem);
  return checked.policy;
}

/** A taken name as Harbor's 409. */
async function named<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConflictError) throw new HarborError("CONFLICT", error.message);
    throw error;
  }
}

export function addWebhookPolicyRoutes(router: Router, deps: WebhookPolicyRouteDeps): void {
  const { store, policies } = deps;

  /** Harbor's WebhookPolicy, the auth headers in clear as Harbor shows them to who may read it. */
  function policyJson(record: WebhookPolicyRecord): Record<string, unknown> {
    return {
      id: record.id,
      name: record.name,
      description: record.description,
      project_id: record.projectId,
      targets: policies.targets(record).map((target) => ({
        type: target.type,
        address: target.address,
        auth_header: target.authHeader,
        skip_cert_verify: target.skipCertVerify,
        payload_format: target.payloadFormat,
      })),
      event_types: record.eventTypes,
      creator: record.creator,
      creation_time: time(record.createdAt),
      update_time: time(record.updatedAt),
      enabled: record.enabled,
    };
  }

  router.add("webhook_policies_list", "GET", POLICIES, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "list");
    const page = paging(ctx.url);
    const listing = await store.webhookPolicies.list(policyFilter(ctx.url, project.id), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(policyJson));
  });

  router.add("webhook_policy_create", "POST", POLICIES, async (ctx) => {
    const { project, callerName } = await webhookProject(ctx, deps, "create");
    const input = await readPolicy(ctx.req);
    const record = await named(() => policies.create(project, input, callerName));
    created(ctx.res, `${ctx.url.pathname.replace(/\/$/, "")}/${record.id}`);
  });

  router.add("webhook_policy_get", "GET", POLICY, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "read");
    sendJson(ctx.res, 200, policyJson(await policyOfPath(ctx, store, project)));
  });

  router.add("webhook_policy_update", "PUT", POLICY, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "update");
    const record = await policyOfPath(ctx, store, project);
    const input = await readPolicy(ctx.req);
    const updated = await named(() => policies.update(record, input));
    if (!updated) throw new HarborError("NOT_FOUND", `notificationPolicy ${record.id} not found`);
    ok(ctx.res);
  });

  router.add("webhook_policy_delete", "DELETE", POLICY, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "delete");
    const record = await policyOfPath(ctx, store, project);
    if (!(await policies.delete(record)))
      throw new HarborError("NOT_FOUND", `notificationPolicy ${record.id} not found`);
    ok(ctx.res);
  });

  router.add("webhook_events", "GET", EVENTS, async (ctx) => {
    await webhookProject(ctx, deps, "read");
    sendJson(ctx.res, 200, {
      event_type: WEBHOOK_EVENT_TYPES,
      notify_type: NOTIFY_TYPES,
      // Only http takes a payload format, as in Harbor.
      payload_formats: [{ notify_type: "http", formats: PAYLOAD_FORMATS }],
    });
  });

  router.add("webhook_last_trigger", "GET", LAST_TRIGGER, async (ctx) => {
    const { project } = await webhookProject(ctx, deps, "read");
    const all = await store.webhookPolicies.list({ projectId: project.id }, { offset: 0, limit: 10_000 });
    const triggers = new Map(
      (await store.webhookPolicies.lastTriggers(project.id)).map((t) => [`${t.policyId} ${t.eventType}`, t]),
    );
    // One entry per policy and event type it subscribes to (webhook.go's constructPolicyWithTriggerTime).
    sendJson(
      ctx.res,
      200,
      all.items.flatMap((record) =>
        record.eventTypes.map((eventType) => {
          const last = triggers.get(`${record.id} ${eventType}`);
          return {
            policy_name: record.name,
            event_type: eventType,
            enabled: record.enabled,
            creation_time: time(record.createdAt),
            last_trigger_time: last ? time(last.triggeredAt) : ZERO_TIME,
          };
        }),
      ),
    );
  });
}
