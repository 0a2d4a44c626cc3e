// Harbor's registry endpoint documents, shared by the registries and ping routes: the `Registry`
// JSON (the secret always shown as "*****"), what may be written (a known adapter type, an
// http(s) URL, a credential, and our extension `ca_certificate`), and who may read endpoints.

import { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { isSysadmin, type Principal } from "../auth/principal.ts";
import { HarborError } from "../http/errors.ts";
import type { RegistryRecord } from "../metadata/registry-store.ts";
import { defaultUrl } from "../upstream/adapter-catalog.ts";
import { isUpstreamType } from "../upstream/registry-endpoints.ts";
import type { UpstreamType } from "../upstream/upstream-registry.ts";
import { holdsSystemPermission, type ApiAccess } from "./api-access.ts";
import { time } from "./harbor-http.ts";

/** What Harbor shows in place of a stored secret; sent back unchanged, it keeps the secret. */
export const MASKED_SECRET = "*****";
const MAX_PEM_BYTES = 256 * 1024;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export const credentialSchema = z.object({
  type: z.enum(["basic", "oauth"]).default("basic"),
  access_key: z.string().max(1024).default(""),
  access_secret: z
    .string()
    .max(64 * 1024)
    .default(""),
});

export function registryJson(record: RegistryRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    url: record.url,
    type: record.type,
    description: record.description,
    insecure: record.insecure,
    status: record.status,
    credential: {
      type: record.credential?.type ?? "basic",
      access_key: record.credential?.accessKey ?? "",
      access_secret: record.credential ? MASKED_SECRET : "",
    },
    ...(record.caCertificate !== undefined && { ca_certificate: record.caCertificate }),
    creation_time: time(record.createdAt),
    update_time: time(record.updatedAt),
  };
}

export function upstreamType(value: string): UpstreamType {
  if (!isUpstreamType(value))
    throw new HarborError("BAD_REQUEST", `unsupported registry type ${JSON.stringify(value)}`);
  return value;
}

/**
 * An endpoint URL: http(s), no query or fragment, no trailing slash. A URL without a scheme gets
 * https:// (Harbor assumes http://; we do not send credentials in clear by default). Absent, the
 * type's fixed URL when it has one (Docker Hub, GHCR, Quay, GCR).
 */
export function endpointUrl(value: string | undefined, type: UpstreamType): string {
  const text = value?.trim() || defaultUrl(type);
  if (!text) throw new HarborError("BAD_REQUEST", "invalid url: required for this registry type");
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new HarborError("BAD_REQUEST", "invalid url: not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HarborError("BAD_REQUEST", "invalid url: expected http:// or https://");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new HarborError("BAD_REQUEST", "invalid url: no query, fragment or credentials in the URL");
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** A PEM bundle of one or more certificates, each parsed; "" means none. */
export function caBundle(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (value.trim() === "") return null;
  if (value.length > MAX_PEM_BYTES) throw new HarborError("BAD_REQUEST", "invalid ca_certificate: too large");
  const blocks = value.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new HarborError("BAD_REQUEST", "invalid ca_certificate: no PEM certificate");
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new HarborError("BAD_REQUEST", "invalid ca_certificate: a certificate does not parse");
    }
  }
  return `${blocks.join("\n")}\n`;
}

/** Reading endpoints is a system permission, as in Harbor: the administrator, or such a robot. */
export async function requireRegistryReader(access: ApiAccess, req: IncomingMessage): Promise<Principal> {
  const principal = await access.requireCaller(req);
  if (
    isSysadmin(principal) ||
    holdsSystemPermission(principal, "registry", "read") ||
    holdsSystemPermission(principal, "registry", "list")
  )
    return principal;
  throw new HarborError("FORBIDDEN", "only the system administrator may read registry endpoints");
}
