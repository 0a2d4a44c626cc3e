// The manifests that refer to another (signatures, SBOMs, attestations), by the distribution
// specification: the referrers API (`GET /v2/<name>/referrers/<digest>`, an image index, pages
// through `Link`), and for registries without it (CNCF Distribution 2.x) the referrers tag
// schema: an index tagged `<alg>-<hex>` that clients keep up to date themselves. Pushing a
// manifest with a `subject` to such a registry (no `OCI-Subject` in the answer) adds it to that
// index, as the specification asks of clients, so that the registry can be a source later.

import { OCI_IMAGE_INDEX } from "../content/media-types.ts";
import { discard, readBody, type TransportResponse } from "./http-transport.ts";
import { failureOf, header, pushScope, v2Url, type RegistryTarget } from "./registry-requests.ts";
import { nextPage } from "./tag-pagination.ts";
import { describeRequest, transportFailure } from "./upstream-failures.ts";
import { UpstreamError, type UpstreamRegistry } from "./upstream-registry.ts";

export interface UpstreamReferrer {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType?: string;
}

interface IndexDescriptor extends UpstreamReferrer {
  readonly annotations?: Readonly<Record<string, string>>;
}

const MAX_PAGES = 100;
const MAX_INDEX_BYTES = 4 * 1024 * 1024;

/** The referrers tag schema's tag: `sha256:ab…` → `sha256-ab…` (at most 128 characters). */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-").slice(0, 128);
}

/** The referrers of `digest` in `repository` (the name as the caller knows it; `name` upstream). */
export async function listReferrers(
  target: RegistryTarget,
  reader: UpstreamRegistry,
  repository: { readonly name: string; readonly upstream: string },
  digest: string,
  signal?: AbortSignal,
): Promise<UpstreamReferrer[]> {
  const referrers: UpstreamReferrer[] = [];
  let url: URL | undefined = v2Url(target, `${repository.upstream}/referrers/${digest}`);
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const where = describeRequest("GET", url);
    const response = await target.requester.send({
      method: "GET",
      url,
      scope: `repository:${repository.upstream}:pull`,
      headers: { Accept: OCI_IMAGE_INDEX },
      ...(signal && { signal }),
    });
    // A registry with the API answers 200 even for an unknown subject: 404 means no API.
    if (response.statusCode === 404 && page === 0) {
      await discard(response);
      return fromReferrersTag(reader, repository.name, digest, signal);
    }
    if (response.statusCode !== 200) throw await failureOf(response, where);
    referrers.push(...descriptorsOf(await readIndex(response, where, signal), where));
    url = nextPage(header(response, "link"), url, where);
  }
  return referrers;
}

async function fromReferrersTag(
  reader: UpstreamRegistry,
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<UpstreamReferrer[]> {
  const index = await reader.getManifest(repository, referrersTag(digest), [OCI_IMAGE_INDEX], signal);
  if (!index || index.mediaType !== OCI_IMAGE_INDEX) return [];
  return descriptorsOf(parseJson(index.content, `referrers tag of ${digest}`), `referrers tag of ${digest}`);
}

/**
 * Adds a manifest that has just been pushed with a `subject` to the subject's referrers tag
 * index. A registry without the referrers API keeps no such list itself.
 */
export async function addToReferrersTag(
  target: RegistryTarget,
  reader: UpstreamRegistry,
  repository: { readonly name: string; readonly upstream: string },
  manifest: { readonly digest: string; readonly mediaType: string; readonly content: Buffer },
  signal?: AbortSignal,
): Promise<void> {
  const parsed = parseJson(manifest.content, manifest.digest) as {
    subject?: { digest?: unknown };
    artifactType?: unknown;
    config?: { mediaType?: unknown };
    annotations?: unknown;
  };
  const subject = parsed.subject?.digest;
  if (typeof subject !== "string") return;
  const tag = referrersTag(subject);
  const existing = await reader.getManifest(repository.name, tag, [OCI_IMAGE_INDEX], signal);
  const current =
    existing?.mediaType === OCI_IMAGE_INDEX ? descriptorsOf(parseJson(existing.content, tag), tag, true) : [];
  if (current.some((entry) => entry.digest === manifest.digest)) return;
  const artifactType =
    typeof parsed.artifactType === "string"
      ? parsed.artifactType
      : typeof parsed.config?.mediaType === "string"
        ? parsed.config.mediaType
        : undefined;
  const annotations =
    parsed.annotations && typeof parsed.annotations === "object"
      ? (parsed.annotations as Record<string, string>)
      : undefined;
  const entry: IndexDescriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.content.length,
    ...(artifactType !== undefined && { artifactType }),
    ...(annotations !== undefined && { annotations }),
  };
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_IMAGE_INDEX, manifests: [...current, entry] }),
  );
  const url = v2Url(target, `${repository.upstream}/manifests/${tag}`);
  const response = await target.requester.send({
    method: "PUT",
    url,
    scope: pushScope(repository.upstream),
    headers: { "Content-Type": OCI_IMAGE_INDEX },
    body: index,
    ...(signal && { signal }),
  });
  if (response.statusCode !== 201) throw await failureOf(response, describeRequest("PUT", url));
  await discard(response);
}

async function readIndex(response: TransportResponse, where: string, signal?: AbortSignal): Promise<unknown> {
  let body: Buffer | "too-large";
  try {
    body = await readBody(response.body, MAX_INDEX_BYTES);
  } catch (err) {
    throw transportFailure(err, where, signal);
  }
  if (body === "too-large") throw new UpstreamError("protocol", `${where}: referrers index too large`);
  return parseJson(body, where);
}

function parseJson(content: Buffer, where: string): unknown {
  try {
    return JSON.parse(content.toString("utf8"));
  } catch {
    throw new UpstreamError("protocol", `${where}: not JSON`);
  }
}

/** An index's `manifests`, each checked; `keepAnnotations` for writing the index back. */
function descriptorsOf(index: unknown, where: string, keepAnnotations = false): IndexDescriptor[] {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (manifests === undefined || manifests === null) return [];
  if (!Array.isArray(manifests)) throw new UpstreamError("protocol", `${where}: malformed referrers index`);
  return manifests.map((raw) => {
    const entry = (raw ?? {}) as Record<string, unknown>;
    const { digest, mediaType, size, artifactType, annotations } = entry;
    if (typeof digest !== "string" || typeof mediaType !== "string" || typeof size !== "number") {
      throw new UpstreamError("protocol", `${where}: malformed referrers index entry`);
    }
    return {
      digest,
      mediaType,
      size,
      ...(typeof artifactType === "string" && { artifactType }),
      ...(keepAnnotations &&
        annotations !== null &&
        typeof annotations === "object" && { annotations: annotations as Record<string, string> }),
    };
  });
}
