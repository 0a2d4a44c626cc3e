// Harbor's replication policies API (src/server/v2.0/handler/replication.go over its replication
// controller): /api/v2.0/replication/policies (list, create) and /replication/policies/{id} (get,
// PUT replacing the whole policy, delete). A system resource, "replication-policy": the
// administrator, or a system robot holding the action on it. As Harbor: 201 with `Location` and
// no body; 409 for a taken name; 404 for a registry that does not exist; 412 for deleting a
// policy while one of its executions is under way (deleting it removes its executions, and its
// schedule). The document's rules are in replication-policy-json.ts, the schedule's in
// replication/replication-policy-service.ts. Harbor writes no audit entry for these, nor do we.

import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import { ScheduleError } from "../jobs/job-service.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { RegistryRecord } from "../metadata/registry-store.ts";
import type { ReplicationPolicySortKey } from "../metadata/replication-store.ts";
import {
  ReplicationRunningError,
  UnknownRegistryError,
  type ReplicationPolicyService,
} from "../replication/replication-policy-service.ts";
import type { ReplicationPolicy } from "../replication/replication-policy.ts";
import type { ApiAccess } from "./api-access.ts";
import { parseSort } from "./content-queries.ts";
import { created, ok, paging, parseQuery, readJson, setPageHeaders } from "./harbor-http.ts";
import { policyFromBody, replicationPolicyBodySchema, replicationPolicyJson } from "./replication-policy-json.ts";

const POLICIES = /^\/api\/v2\.0\/replication\/policies\/?$/;
const POLICY = /^\/api\/v2\.0\/replication\/policies\/(?<id>\d+)\/?$/;

/** Harbor's rbac resource of the policies. */
const RESOURCE = "replication-policy";

const SORT_KEYS: Readonly<Record<string, ReplicationPolicySortKey>> = {
  id: "id",
  name: "name",
  creation_time: "creation_time",
  update_time: "update_time",
};

export interface ReplicationPolicyRouteDeps {
  store: Pick<MetadataStore, "replicationPolicies" | "registries">;
  access: ApiAccess;
  policies: ReplicationPolicyService;
  /** Where this registry is reached: the URL of "Local" in the policies' JSON. */
  localUrl: () => string;
}

/** The service's refusals as Harbor answers them. */
async function harborErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConflictError) throw new HarborError("CONFLICT", error.message);
    if (error instanceof UnknownRegistryError) throw new HarborError("NOT_FOUND", error.message);
    if (error instanceof ScheduleError) {
      const reason = error.message.replace(/^invalid cron: /, "");
      throw new HarborError("BAD_REQUEST", `invalid cron string for scheduled trigger: ${reason}`);
    }
    if (error instanceof ReplicationRunningError) throw new HarborError("PRECONDITION", error.message);
    throw error;
  }
}

export function addReplicationPolicyRoutes(router: Router, deps: ReplicationPolicyRouteDeps): void {
  const { store, access, policies } = deps;

  /** The policies as Harbor shows them, each endpoint read once. */
  async function render(list: readonly ReplicationPolicy[]): Promise<Record<string, unknown>[]> {
    const registries = new Map<number, Promise<RegistryRecord | undefined>>();
    const registryOf = (id: number) => {
      let found = registries.get(id);
      if (!found) registries.set(id, (found = store.registries.get(id)));
      return found;
    };
    return Promise.all(
      list.map(async (policy) => {
        const remote = policy.srcRegistryId ?? policy.destRegistryId;
        return replicationPolicyJson(
          policy,
          remote === undefined ? undefined : await registryOf(remote),
          deps.localUrl(),
        );
      }),
    );
  }

  function notFound(id: number): HarborError {
    return new HarborError("NOT_FOUND", `replication policy ${id} not found`);
  }

  router.add("replication_policy_list", "GET", POLICIES, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "list");
    const page = paging(ctx.url);
    const term = parseQuery(ctx.url).get("name");
    if (term?.list || term?.range) throw new HarborError("BAD_REQUEST", "lists and ranges are not supported for name");
    // `name` is Harbor's deprecated parameter, a substring match.
    const legacy = ctx.url.searchParams.get("name");
    const name = term ?? (legacy ? { value: legacy, fuzzy: true } : undefined);
    const listing = await store.replicationPolicies.list(
      { ...(name && { name: { value: name.value, fuzzy: name.fuzzy } }), sort: parseSort(ctx.url, SORT_KEYS) },
      page,
    );
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await render(listing.items));
  });

  router.add("replication_policy_create", "POST", POLICIES, async (ctx) => {
    const caller = await access.requireSystemAccess(ctx.req, RESOURCE, "create");
    const policy = policyFromBody(await readJson(ctx.req, replicationPolicyBodySchema));
    const made = await harborErrors(() => policies.create({ ...policy, creator: caller.username }));
    created(ctx.res, `/api/v2.0/replication/policies/${made.id}`);
  });

  router.add("replication_policy_get", "GET", POLICY, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "read");
    const id = Number(ctx.params["id"]);
    const policy = await store.replicationPolicies.get(id);
    if (!policy) throw notFound(id);
    const [json] = await render([policy]);
    sendJson(ctx.res, 200, json);
  });

  router.add("replication_policy_update", "PUT", POLICY, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "update");
    const id = Number(ctx.params["id"]);
    const policy = policyFromBody(await readJson(ctx.req, replicationPolicyBodySchema));
    const saved = await harborErrors(() => policies.replace(id, policy));
    if (!saved) throw notFound(id);
    ok(ctx.res);
  });

  router.add("replication_policy_delete", "DELETE", POLICY, async (ctx) => {
    await access.requireSystemAccess(ctx.req, RESOURCE, "delete");
    const id = Number(ctx.params["id"]);
    if (!(await harborErrors(() => policies.delete(id)))) throw notFound(id);
    ok(ctx.res);
  });
}
