// Harbor's pluggable scanners API (src/server/v2.0/handler/scanner.go over its scanner
// controller): /api/v2.0/scanners (list, register), /scanners/{registration_id} (get, replace,
// delete, PATCH to make it the default), /scanners/ping (tests settings before saving them) and
// /scanners/{id}/metadata (the adapter's own description). The system resource "scanner": the
// administrator, or a system robot holding the action on it.
//
// As Harbor: a registration is pinged before it is saved; the first one becomes the default;
// "Trivy" is a reserved name; a registration the server made for itself (a built-in scanner) is
// immutable, except that it may be disabled and enabled again (Harbor lets nothing change; we let
// a DMZ turn the built-in scanner off) and be made the default. The access credential goes in,
// sealed, and never comes out: `access_credential` always reads "", and a PUT leaving it empty
// keeps the stored one. Beyond Harbor's list: `adapter`, `vendor`, `version`, `health` and
// `capabilities` filled from the adapter's metadata (cached 30 s, failures too).

import { randomUUID } from "node:crypto";
import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { RequestContext, Router } from "../http/router.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { SCANNER_AUTH_TYPES, type ScannerAuth, type ScannerRegistrationRecord } from "../metadata/scanner-store.ts";
import { ScannerAdapterError } from "../scan/http-scanner-adapter.ts";
import type { ScannerAdapterMetadata } from "../scan/scanner-adapter.ts";
import type { ScannerRegistry } from "../scan/scanner-registry.ts";
import type { ApiAccess } from "./api-access.ts";
import { created, ok, paging, parseQuery, pathSegment, readJson, setPageHeaders, time } from "./harbor-http.ts";

/** How long a listing waits for an adapter's metadata before showing it unhealthy. */
const LIST_PROBE_TIMEOUT_MS = 5_000;
/** How long a ping or a registration waits for the adapter. */
const PING_TIMEOUT_MS = 10_000;

// Harbor's column sizes (scanner_registration: name 128, url 512, description 1024).
const nameSchema = z.string().trim().min(1).max(128);
const urlSchema = z.string().trim().min(1).max(512);
/** No control characters: the credential becomes an HTTP header. */
const credentialSchema = z
  .string()
  .max(8 * 1024)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, "no control characters");
const authSchema = z.enum(SCANNER_AUTH_TYPES);

// Harbor's ScannerRegistrationReq: name and url required, the rest defaulting as Go's zero values.
const registrationSchema = z.object({
  name: nameSchema,
  url: urlSchema,
  description: z.string().max(1024).nullish(),
  auth: authSchema.nullish(),
  access_credential: credentialSchema.nullish(),
  skip_certVerify: z.boolean().nullish(),
  use_internal_addr: z.boolean().nullish(),
  disabled: z.boolean().nullish(),
});
// Harbor's ScannerRegistrationSettings.
const settingsSchema = z.object({
  name: nameSchema,
  url: urlSchema,
  auth: authSchema.nullish(),
  access_credential: credentialSchema.nullish(),
});
const isDefaultSchema = z.object({ is_default: z.boolean().nullish() });

export interface ScannerRouteDeps {
  store: MetadataStore;
  access: ApiAccess;
  scanners: ScannerRegistry;
}

const SCANNERS = /^\/api\/v2\.0\/scanners\/?$/;
const PING = /^\/api\/v2\.0\/scanners\/ping$/;
const SCANNER = /^\/api\/v2\.0\/scanners\/(?<id>[^/]+)$/;
const METADATA = /^\/api\/v2\.0\/scanners\/(?<id>[^/]+)\/metadata$/;

/**
 * An adapter URL as Harbor's ValidateHTTPURL takes it: http or https (http:// when no scheme is
 * written, as Harbor), a host, no query, fragment or user information; no trailing slash.
 */
type FilterKey = "name" | "description" | "url";

/**
 * A scanner listing's filter: Harbor's `q` keys and, with `legacy` (GET /scanners), its older
 * `name`, `description`, `url` (substring) and `ex_name`, `ex_url` (exact) parameters.
 */
export function scannerFilter(
  url: URL,
  options: { legacy: boolean },
): Partial<Record<FilterKey, { value: string; fuzzy: boolean }>> {
  const query = parseQuery(url);
  const term = (key: FilterKey): { value: string; fuzzy: boolean } | undefined => {
    if (options.legacy) {
      const exact = key === "description" ? null : url.searchParams.get(`ex_${key}`);
      if (exact) return { value: exact, fuzzy: false };
      const legacy = url.searchParams.get(key);
      if (legacy) return { value: legacy, fuzzy: true };
    }
    const q = query.get(key);
    return q && !q.range && !q.list ? { value: q.value, fuzzy: q.fuzzy } : undefined;
  };
  const filter: Partial<Record<FilterKey, { value: string; fuzzy: boolean }>> = {};
  for (const key of ["name", "description", "url"] as const) {
    const value = term(key);
    if (value) filter[key] = value;
  }
  return filter;
}

export function adapterUrl(value: string): string {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HarborError("BAD_REQUEST", "invalid url: not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HarborError("BAD_REQUEST", "invalid url: expected http:// or https://");
  }
  if (url.hostname === "" || url.search || url.hash || url.username || url.password) {
    throw new HarborError("BAD_REQUEST", "invalid url: a host, and no query, fragment or credentials in the URL");
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** Harbor's check: a scheme needs its credential. */
function requireCredential(auth: ScannerAuth, credential: string): void {
  if (auth !== "" && credential === "") {
    throw new HarborError("BAD_REQUEST", `access_credential is required for auth type ${auth}`);
  }
}

/** What Harbor's ScannerCapability map says: which kinds of report the adapter makes. */
function capabilitiesOf(metadata: ScannerAdapterMetadata): Record<string, boolean> {
  return {
    support_vulnerability: metadata.capabilities.some((c) => (c.type ?? "vulnerability") === "vulnerability"),
    support_sbom: metadata.capabilities.some((c) => c.type === "sbom"),
  };
}

/** Harbor's ScannerRegistration; `probe` adds what the adapter's metadata tells. */
export function scannerJson(
  record: ScannerRegistrationRecord,
  probe?: { metadata: ScannerAdapterMetadata } | { error: unknown },
): Record<string, unknown> {
  return {
    uuid: record.uuid,
    name: record.name,
    description: record.description,
    url: record.url,
    disabled: record.disabled,
    is_default: record.isDefault,
    auth: record.auth,
    // Never the credential, sealed or not.
    access_credential: "",
    skip_certVerify: record.skipCertVerify,
    use_internal_addr: record.useInternalAddr,
    create_time: time(record.createdAt),
    update_time: time(record.updatedAt),
    ...(probe &&
      ("metadata" in probe
        ? {
            adapter: probe.metadata.scanner.name,
            vendor: probe.metadata.scanner.vendor,
            version: probe.metadata.scanner.version,
            health: "healthy",
            capabilities: capabilitiesOf(probe.metadata),
          }
        : { health: "unhealthy" })),
  };
}

/** The registration with what a short probe of its adapter tells (cached by the registry). */
export async function probedScannerJson(
  scanners: ScannerRegistry,
  record: ScannerRegistrationRecord,
): Promise<Record<string, unknown>> {
  try {
    const metadata = await scanners.metadataOf(record, AbortSignal.timeout(LIST_PROBE_TIMEOUT_MS));
    return scannerJson(record, { metadata });
  } catch (error) {
    return scannerJson(record, { error });
  }
}

/** The adapter's metadata as Harbor's ScannerAdapterMetadata. */
function metadataJson(metadata: ScannerAdapterMetadata): Record<string, unknown> {
  return {
    scanner: metadata.scanner,
    capabilities: metadata.capabilities.map((c) => ({
      type: c.type ?? "vulnerability",
      consumes_mime_types: c.consumes_mime_types,
      produces_mime_types: c.produces_mime_types,
      ...(c.additional_attributes && { additional_attributes: c.additional_attributes }),
    })),
    properties: metadata.properties ?? {},
  };
}

/** Why an adapter did not answer, for a message (never a credential: the errors carry none). */
export function adapterFailure(err: unknown): string {
  if (err instanceof ScannerAdapterError) return `${err.kind}: ${err.message}`;
  if (err instanceof Error && err.name === "TimeoutError") return "timeout: no answer in time";
  throw err;
}

export function addScannerRoutes(router: Router, deps: ScannerRouteDeps): void {
  const { store, access, scanners } = deps;

  async function existing(ctx: RequestContext): Promise<ScannerRegistrationRecord> {
    const id = pathSegment(ctx.params["id"]);
    const record = await store.scanners.get(id);
    if (!record) throw new HarborError("NOT_FOUND", `scanner ${id} not found`);
    return record;
  }

  const withProbe = (record: ScannerRegistrationRecord): Promise<Record<string, unknown>> =>
    probedScannerJson(scanners, record);

  /** Pings the settings as Harbor does before saving or when asked: 400 with the reason. */
  async function ping(connection: Parameters<ScannerRegistry["httpAdapter"]>[0]): Promise<void> {
    const adapter = scanners.httpAdapter(connection, PING_TIMEOUT_MS);
    try {
      await adapter.metadata();
    } catch (err) {
      throw new HarborError("BAD_REQUEST", `failed to ping the scanner adapter (${adapterFailure(err)})`);
    } finally {
      await adapter.close();
    }
  }

  function reservedName(name: string): void {
    if (scanners.isReservedName(name)) {
      throw new HarborError("BAD_REQUEST", `name "${name}" is reserved, please try a different name`);
    }
  }

  function conflict(err: unknown): never {
    if (err instanceof ConflictError) throw new HarborError("CONFLICT", err.message);
    throw err;
  }

  router.add("scanner_list", "GET", SCANNERS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "list");
    const page = paging(ctx.url);
    const listing = await store.scanners.list(scannerFilter(ctx.url, { legacy: true }), page);
    setPageHeaders(ctx.res, ctx.url, page, listing.total);
    sendJson(ctx.res, 200, await Promise.all(listing.items.map(withProbe)));
  });

  router.add("scanner_create", "POST", SCANNERS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "create");
    const body = await readJson(ctx.req, registrationSchema);
    reservedName(body.name);
    const url = adapterUrl(body.url);
    const auth = body.auth ?? "";
    const credential = auth === "" ? "" : (body.access_credential ?? "");
    requireCredential(auth, credential);
    const skipCertVerify = body.skip_certVerify ?? false;
    await ping({ url, auth, credential, skipCertVerify });
    const record = await store.scanners
      .create(
        {
          uuid: randomUUID(),
          name: body.name,
          description: body.description ?? "",
          url,
          disabled: body.disabled ?? false,
          auth,
          ...(auth !== "" && { sealedCredential: scanners.sealCredential(credential) }),
          skipCertVerify,
          useInternalAddr: body.use_internal_addr ?? false,
          immutable: false,
        },
        // Harbor: the first registration is the default (a disabled one cannot be).
        body.disabled ? "never" : "if-first",
        new Date(),
      )
      .catch(conflict);
    created(ctx.res, `${ctx.url.pathname.replace(/\/+$/, "")}/${record.uuid}`);
  });

  router.add("scanner_ping", "POST", PING, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "read");
    const body = await readJson(ctx.req, settingsSchema);
    const auth = body.auth ?? "";
    const credential = auth === "" ? "" : (body.access_credential ?? "");
    requireCredential(auth, credential);
    await ping({ url: adapterUrl(body.url), auth, credential, skipCertVerify: false });
    ok(ctx.res);
  });

  router.add("scanner_get", "GET", SCANNER, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "read");
    sendJson(ctx.res, 200, await withProbe(await existing(ctx)));
  });

  router.add("scanner_metadata", "GET", METADATA, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "read");
    const record = await existing(ctx);
    let metadata: ScannerAdapterMetadata;
    try {
      metadata = await scanners.metadataOf(record, AbortSignal.timeout(PING_TIMEOUT_MS));
    } catch (err) {
      throw new HarborError(
        "INTERNAL_SERVER_ERROR",
        `failed to get the metadata of scanner ${record.name} (${adapterFailure(err)})`,
      );
    }
    sendJson(ctx.res, 200, metadataJson(metadata));
  });

  router.add("scanner_update", "PUT", SCANNER, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "update");
    const current = await existing(ctx);
    const body = await readJson(ctx.req, registrationSchema);
    const disabled = body.disabled ?? false;
    if (current.immutable) {
      // Only `disabled` may change: the rest must be as it is.
      const same =
        body.name === current.name &&
        body.url === current.url &&
        (body.description ?? "") === current.description &&
        (body.auth ?? "") === current.auth &&
        (body.skip_certVerify ?? false) === current.skipCertVerify &&
        (body.use_internal_addr ?? false) === current.useInternalAddr;
      if (!same) {
        throw new HarborError(
          "FORBIDDEN",
          `registration ${current.name} is not allowed to update as it is immutable: scanner API: update`,
        );
      }
    } else {
      reservedName(body.name);
    }
    if (current.isDefault && disabled) {
      throw new HarborError("BAD_REQUEST", `default registration ${current.uuid} can not be marked to deactivated`);
    }
    const auth = body.auth ?? "";
    // Harbor: an empty credential keeps the stored one while the scheme still needs one.
    const given = body.access_credential ?? "";
    const keep = given === "" && auth !== "" && current.sealedCredential !== undefined;
    if (!keep) requireCredential(auth, auth === "" ? "" : given);
    const url = current.immutable ? current.url : adapterUrl(body.url);
    const updated = await store.scanners
      .update(
        current.uuid,
        {
          name: body.name,
          url,
          description: body.description ?? "",
          disabled,
          auth,
          sealedCredential: auth === "" ? null : keep ? current.sealedCredential : scanners.sealCredential(given),
          skipCertVerify: body.skip_certVerify ?? false,
          useInternalAddr: body.use_internal_addr ?? false,
        },
        new Date(),
      )
      .catch(conflict);
    if (!updated) throw new HarborError("NOT_FOUND", `scanner ${current.uuid} not found`);
    scanners.forget(current.uuid);
    ok(ctx.res);
  });

  router.add("scanner_set_default", "PATCH", SCANNER, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "update");
    const record = await existing(ctx);
    const body = await readJson(ctx.req, isDefaultSchema);
    if (body.is_default) {
      const outcome = await store.scanners.setDefault(record.uuid);
      if (outcome === "missing") throw new HarborError("NOT_FOUND", `scanner ${record.uuid} not found`);
      if (outcome === "disabled") {
        throw new HarborError("BAD_REQUEST", `scanner ${record.name} is disabled: it cannot be the default`);
      }
    }
    ok(ctx.res);
  });

  router.add("scanner_delete", "DELETE", SCANNER, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "scanner", "delete");
    const record = await existing(ctx);
    if (record.immutable) {
      throw new HarborError(
        "FORBIDDEN",
        `registration ${record.name} is not allowed to delete as it is immutable: scanner API: delete`,
      );
    }
    if (!(await store.scanners.delete(record.uuid)))
      throw new HarborError("NOT_FOUND", `scanner ${record.uuid} not found`);
    scanners.forget(record.uuid);
    // Harbor answers with the deleted registration. Projects that chose it fall back to the default.
    sendJson(ctx.res, 200, scannerJson(record));
  });
}
