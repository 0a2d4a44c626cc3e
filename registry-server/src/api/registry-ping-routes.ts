// Harbor's endpoint checks and adapter descriptions: `POST /registries/ping` tests a connection
// before (or after) saving it, by id, by the fields given, or by an id with some fields
// overridden; 200 when the registry answers and accepts the credential, 400 with the reason
// otherwise. `/registries/{id}/info`, `/replication/adapters` and `/replication/adapterinfos`
// describe what each registry type supports.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { ADAPTERS, adapterInfoJson, adapterTypes } from "../upstream/adapter-catalog.ts";
import type { RegistryEndpoints } from "../upstream/registry-endpoints.ts";
import { UPSTREAM_TYPES, UpstreamError, type UpstreamFactory } from "../upstream/upstream-registry.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok, readJson } from "./harbor-http.ts";
import { caBundle, endpointUrl, MASKED_SECRET, requireRegistryReader, upstreamType } from "./registry-json.ts";
import { existingRegistry, registryUpdateSchema } from "./registry-routes.ts";

// Harbor's RegistryPing: the fields of an update (the connection's), plus the endpoint to start from
// and its type when there is none.
const pingSchema = registryUpdateSchema
  .omit({ name: true, description: true })
  .extend({ id: z.number().int().min(1).nullish(), type: z.string().nullish() });

export interface RegistryPingRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  endpoints: RegistryEndpoints;
  factory: UpstreamFactory;
  /** Bound on one ping, all its requests (challenge, token, retry) together. */
  pingTimeoutMs: number;
}

const PING = /^\/api\/v2\.0\/registries\/ping$/;
const INFO = /^\/api\/v2\.0\/registries\/(?<id>\d+)\/info$/;
const ADAPTER_TYPES = /^\/api\/v2\.0\/replication\/adapters$/;
const ADAPTER_INFOS = /^\/api\/v2\.0\/replication\/adapterinfos$/;

export function addRegistryPingRoutes(router: Router, deps: RegistryPingRouteDeps): void {
  const { store, access, endpoints, factory } = deps;

  router.add("registry_ping", "POST", PING, async (ctx) => {
    await access.requireSysadmin(ctx.req);
    const body = await readJson(ctx.req, pingSchema);
    const stored = body.id != null ? await store.registries.get(body.id) : undefined;
    if (body.id != null && !stored) throw new HarborError("NOT_FOUND", `registry ${body.id} not found`);
    const typeName = body.type ?? stored?.type;
    if (!typeName) throw new HarborError("BAD_REQUEST", "invalid type: required without an id");
    const type = upstreamType(typeName);
    const base = stored ? endpoints.toEndpoint(stored) : undefined;
    const accessKey = body.access_key ?? base?.credential?.accessKey ?? "";
    const givenSecret = body.access_secret != null && body.access_secret !== MASKED_SECRET;
    const accessSecret = givenSecret ? (body.access_secret ?? "") : (base?.credential?.accessSecret ?? "");
    const ca = caBundle(body.ca_certificate);
    const caCertificate = ca === undefined ? base?.caCertificate : (ca ?? undefined);
    const adapter = factory({
      id: stored?.id ?? 0,
      name: stored?.name ?? "ping",
      type,
      url: body.url != null ? endpointUrl(body.url, type) : (base?.url ?? endpointUrl(undefined, type)),
      insecure: body.insecure ?? base?.insecure ?? false,
      ...(accessKey !== "" && {
        credential: { type: body.credential_type ?? base?.credential?.type ?? "basic", accessKey, accessSecret },
      }),
      ...(caCertificate !== undefined && { caCertificate }),
    });
    try {
      await adapter.ping(AbortSignal.timeout(deps.pingTimeoutMs));
    } catch (err) {
      const reason =
        err instanceof UpstreamError ? `${err.kind}: ${err.message}` : `timeout: no answer in ${deps.pingTimeoutMs} ms`;
      throw new HarborError("BAD_REQUEST", `failed to ping the registry (${reason})`);
    } finally {
      await adapter.close();
    }
    ok(ctx.res);
  });

  router.add("registry_info", "GET", INFO, async (ctx) => {
    await requireRegistryReader(access, ctx.req);
    const record = await existingRegistry({ store, access, endpoints }, ctx);
    const type = upstreamType(record.type);
    sendJson(ctx.res, 200, {
      type,
      description: ADAPTERS[type].description,
      // What replication will filter on and be started by; proxy caching needs none of it.
      supported_resource_filters: [
        { type: "name", style: "input" },
        { type: "tag", style: "input" },
      ],
      supported_triggers: ["manual", "scheduled"],
    });
  });

  router.add("replication_adapters", "GET", ADAPTER_TYPES, async (ctx) => {
    await access.requireCaller(ctx.req);
    sendJson(ctx.res, 200, adapterTypes());
  });

  router.add("replication_adapter_infos", "GET", ADAPTER_INFOS, async (ctx) => {
    await access.requireCaller(ctx.req);
    sendJson(ctx.res, 200, Object.fromEntries(UPSTREAM_TYPES.map((type) => [type, adapterInfoJson(type)])));
  });
}
