// What the write side's requests to one registry share (replication: the writer, uploads, the
// listings): the registry they go to, the token scopes they ask for, single header values, and the
// failure for a status that is neither success nor "not found", with the OCI error code and
// message of the body (`{"errors":[{"code":"DIGEST_INVALID","message":"…"}]}`) when there is one,
// so that a refused push says why.

import type { AuthorizedRequester } from "./authorized-requester.ts";
import { discard, readBody, type TransportResponse } from "./http-transport.ts";
import { statusFailure } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

/** One registry's v2 API, reached through the requester that the read side uses too. */
export interface RegistryTarget {
  readonly requester: AuthorizedRequester;
  /** Where the v2 API lives; no trailing slash. */
  readonly baseUrl: string;
}

export function v2Url(target: RegistryTarget, pathAndQuery: string): URL {
  return new URL(`${target.baseUrl}/v2/${pathAndQuery}`);
}

/** Everything a destination does to a repository but delete: one token for all of it. */
export function pushScope(name: string): string {
  return `repository:${name}:pull,push`;
}

/** A mount: push here, pull there (Docker's clients ask for both in one token). */
export function mountScope(name: string, from: string): string {
  return `${pushScope(name)} repository:${from}:pull`;
}

export function deleteScope(name: string): string {
  return `repository:${name}:delete`;
}

/** Error bodies are short; more than this is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The first OCI error of a body, "CODE: message", or undefined. */
export function ociErrorDetail(body: Buffer): string | undefined {
  try {
    const errors = (JSON.parse(body.toString("utf8")) as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return undefined;
    const first = errors[0] as { code?: unknown; message?: unknown } | undefined;
    const code = typeof first?.code === "string" ? first.code : undefined;
    const message = typeof first?.message === "string" ? first.message.slice(0, 300) : undefined;
    return [code, message].filter(Boolean).join(": ") || undefined;
  } catch {
    return undefined;
  }
}

/** The UpstreamError for `response`, its body read (and released) for the OCI error. */
export async function failureOf(response: TransportResponse, where: string): Promise<UpstreamError> {
  const failure = statusFailure(response.statusCode, response.headers, where);
  let detail: string | undefined;
  try {
    const body = await readBody(response.body, MAX_ERROR_BODY_BYTES);
    detail = body === "too-large" ? undefined : ociErrorDetail(body);
  } catch {
    await discard(response);
  }
  if (detail === undefined) return failure;
  return new UpstreamError(failure.kind, `${failure.message} (${detail})`, {
    ...(failure.status !== undefined && { status: failure.status }),
    ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
  });
}
