// Harbor's registry endpoints API: /api/v2.0/registries (list, create) and /registries/{id} (get,
// update, delete). Writes are the system administrator's; secrets go in, sealed, and never come
// out (`access_secret` reads "*****"). An endpoint a proxy-cache project or a replication policy
// uses cannot be deleted (412). Beyond Harbor: `ca_certificate`, a PEM bundle trusted for the
// endpoint.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { RegistryChanges, RegistryRecord, StoredCredential } from "../metadata/registry-store.ts";
import type { RegistryEndpoints } from "../upstream/registry-endpoints.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, ok, paging, parseQuery, readJson, setPageHeaders } from "./harbor-http.ts";
import {
  caBundle,
  credentialSchema,
  endpointUrl,
  MASKED_SECRET,
  registryJson,
  requireRegistryReader,
  upstreamType,
} from "./registry-json.ts";

const nameSchema = z.string().trim().min(1).max(255);
const registrySchema = z.object({
  name: nameSchema,
  type: z.string(),
  url: z.string().max(2048).optional(),
  description: z.string().max(1024).default(""),
  insecure: z.boolean().default(false),
  credential: credentialSchema.nullish(),
  ca_certificate: z.string().nullish(),
});
// Harbor's RegistryUpdate: every field optional, null meaning "unchanged".
export const registryUpdateSchema = z.object({
  name: nameSchema.nullish(),
  description: z.string().max(1024).nullish(),
  url: z.string().max(2048).nullish(),
  credential_type: z.enum(["basic", "oauth"]).nullish(),
  access_key: z.string().max(1024).nullish(),
  access_secret: z
    .string()
    .max(64 * 1024)
    .nullish(),
  insecure: z.boolean().nullish(),
  ca_certificate: z.string().nullish(),
});

export interface RegistryRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  endpoints: RegistryEndpoints;
  /** Told of every created or changed endpoint (the health checks ping it at once). */
  onChange?: (id: number) => void;
}

const REGISTRIES = /^\/api\/v2\.0\/registries\/?$/;
const REGISTRY = /^\/api\/v2\.0\/registries\/(?<id>\d+)$/;

export async function existingRegistry(deps: RegistryRouteDeps, ctx: RequestContext): Promise<RegistryRecord> {
  const id = Number(ctx.params["id"]);
  const record = await deps.store.registries.get(id);
  if (!record) throw new HarborError("NOT_FOUND", `registry ${id} not found`);
  return record;
}

export function addRegistryRoutes(router: Router, deps: RegistryRouteDeps): void {
  const { store, access, endpoints } = deps;

  const audit = async (username: string, record: RegistryRecord, operation: string): Promise<void> =>
    store.audit.append({
      username,
      resource: record.name,
      resourceType: "registry",
      operation,
      success: true,
      opTime: new Date(),
    });

  router.add("registry_list", "GET", REGISTRIES, async (ctx) => {
    await requireRegistryReader(access, ctx.req);
    const page = paging(ctx.url);
    const query = parseQuery(ctx.url);
    // `name` is Harbor's deprecated parameter, a substring match.
    const legacyName = ctx.url.searchParams.get("name");
    const name = query.get("name") ?? (legacyName ? { value: legacyName, fuzzy: true } : undefined);
    const type = query.get("type")?.value;
    const url = query.get("url");
    const listing = await store.registries.list(
      { ...(name && { name }), ...(type !== undefined && { type }), ...(url && { url }) },
      page,
    );
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, listing.items.map(registryJson));
  });

  router.add("registry_create", "POST", REGISTRIES, async (ctx) => {
    const caller = await access.requireSysadmin(ctx.req);
    const body = await readJson(ctx.req, registrySchema);
    const type = upstreamType(body.type);
    const given = body.credential;
    const ca = caBundle(body.ca_certificate);
    let record: RegistryRecord;
    try {
      record = await store.registries.create(
        {
          name: body.name,
          type,
          url: endpointUrl(body.url, type),
          description: body.description,
          insecure: body.insecure,
          ...(given &&
            given.access_key !== "" && {
              credential: endpoints.seal({
                type: given.type,
                accessKey: given.access_key,
                accessSecret: given.access_secret,
              }),
            }),
          ...(ca && { caCertificate: ca }),
          status: "unknown",
        },
        new Date(),
      );
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", `registry ${body.name} already exists`);
      throw err;
    }
    await audit(caller.username, record, "create");
    deps.onChange?.(record.id);
    created(ctx.res, `/api/v2.0/registries/${record.id}`);
  });

  router.add("registry_get", "GET", REGISTRY, async (ctx) => {
    await requireRegistryReader(access, ctx.req);
    sendJson(ctx.res, 200, registryJson(await existingRegistry(deps, ctx)));
  });

  router.add("registry_update", "PUT", REGISTRY, async (ctx) => {
    const caller = await access.requireSysadmin(ctx.req);
    const current = await existingRegistry(deps, ctx);
    const body = await readJson(ctx.req, registryUpdateSchema);
    const ca = caBundle(body.ca_certificate);
    const changes: RegistryChanges = {
      ...(body.name != null && { name: body.name }),
      ...(body.description != null && { description: body.description }),
      ...(body.url != null && { url: endpointUrl(body.url, upstreamType(current.type)) }),
      ...(body.insecure != null && { insecure: body.insecure }),
      ...(ca !== undefined && { caCertificate: ca }),
      ...credentialChange(endpoints, current.credential, body),
    };
    let updated: RegistryRecord | undefined;
    try {
      updated = await store.registries.update(current.id, changes, new Date());
    } catch (err) {
      if (err instanceof ConflictError) throw new HarborError("CONFLICT", `registry ${body.name ?? ""} already exists`);
      throw err;
    }
    if (!updated) throw new HarborError("NOT_FOUND", `registry ${current.id} not found`);
    await audit(caller.username, updated, "update");
    deps.onChange?.(updated.id);
    ok(ctx.res);
  });

  router.add("registry_delete", "DELETE", REGISTRY, async (ctx) => {
    const caller = await access.requireSysadmin(ctx.req);
    const current = await existingRegistry(deps, ctx);
    // Checked and deleted in one transaction: a project cannot start using it in between.
    await store.transaction(async (tx) => {
      const users = await tx.registries.projectsUsing(current.id);
      if (users.length > 0) {
        const names = await Promise.all(users.slice(0, 5).map(async (id) => (await tx.projects.get(id))?.name ?? id));
        throw new HarborError(
          "PRECONDITION",
          `registry ${current.name} is used by proxy-cache project(s) ${names.join(", ")}: delete them first`,
        );
      }
      // Harbor's refusal, whichever side of the policies it is on.
      if ((await tx.replicationPolicies.usingRegistry(current.id)).length > 0) {
        throw new HarborError(
          "PRECONDITION",
          `the registry ${current.id} is referenced by replication policies, cannot delete it`,
        );
      }
      await tx.registries.delete(current.id);
    });
    await audit(caller.username, current, "delete");
    ok(ctx.res);
  });
}

/**
 * The credential after an update: an empty access key means anonymous; a secret left out, null
 * or "*****" keeps the stored one. Unchanged, nothing is re-sealed.
 */
function credentialChange(
  endpoints: RegistryEndpoints,
  current: StoredCredential | undefined,
  body: z.infer<typeof registryUpdateSchema>,
): { credential?: StoredCredential | null } {
  const accessKey = body.access_key ?? current?.accessKey ?? "";
  const type = body.credential_type ?? current?.type ?? "basic";
  const newSecret = body.access_secret != null && body.access_secret !== MASKED_SECRET ? body.access_secret : undefined;
  if (accessKey === "") return current ? { credential: null } : {};
  if (newSecret === undefined && current && accessKey === current.accessKey && type === current.type) return {};
  const accessSecret = newSecret ?? (current ? endpoints.openSecret(current) : "");
  return { credential: endpoints.seal({ type, accessKey, accessSecret }) };
}
