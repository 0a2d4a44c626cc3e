// Full image references as people write them (`nginx`, `docker.io/library/nginx:1.25`,
// `quay.io/prometheus/prometheus:v2.53.0`, `localhost:5443/team/app@sha256:…`), with Docker's
// rules: a first component with a dot or a port, or `localhost`, names a registry; anything
// else is on Docker Hub, where one-component names are official images under `library/`.

import { parseDigest } from "../content/digest.ts";
import { isValidRepositoryName, isValidTag } from "../content/names.ts";

export const DOCKER_HUB = "docker.io";
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

export interface ImageReference {
  /** Registry host, with its port when it has one: `docker.io`, `localhost:5443`. */
  readonly registry: string;
  /** The repository on that registry: `library/nginx`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class ReferenceError extends Error {
  override name = "ReferenceError";
}

/** Parses a reference; `latest` when it names neither a tag nor a digest. */
export function parseImageReference(text: string): ImageReference {
  const input = text.trim();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (typeof parseDigest(digest) === "string") throw new ReferenceError(`${input}: invalid digest ${digest}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new ReferenceError(`${input}: invalid tag ${JSON.stringify(tag)}`);
  }
  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  const hasHost = first.includes(".") || first.includes(":") || first === "localhost";
  let registry = hasHost ? first.toLowerCase() : DOCKER_HUB;
  let repository = hasHost ? rest.slice(slash + 1) : rest;
  if (HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  if (!isValidRepositoryName(repository)) {
    throw new ReferenceError(`${input}: invalid repository name ${JSON.stringify(repository)}`);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** `docker.io/library/nginx:1.25`, `host/name@sha256:…`, or both tag and digest. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${
    ref.digest !== undefined ? `@${ref.digest}` : ""
  }`;
}

/** What to ask the registry for: the digest when there is one, else the tag. */
export function referenceToFetch(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/**
 * The repository an imported image lands in: `<project>/[<prefix>/]<repository>`, checked
 * against the repository name grammar.
 */
export function importedRepository(project: string, repository: string, prefix?: string): string {
  const name = [project, ...(prefix ? [prefix.replace(/^\/+|\/+$/g, "")] : []), repository].join("/");
  if (!isValidRepositoryName(name)) throw new ReferenceError(`invalid repository name ${JSON.stringify(name)}`);
  return name;
}
