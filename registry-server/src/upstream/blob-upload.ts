// Sending a blob to a registry, by the distribution specification: a body-less `POST` opens the
// session (and, with the push token it obtains, authenticates everything after it), then either
// one streamed `PUT ?digest=` (monolithic) or `PATCH`es of fixed-size chunks with `Content-Range`
// and a body-less closing `PUT ?digest=` (chunked). Each answer's `Location` is the next URL.
//
// The bytes are checked on the way out as well as by the registry: a monolithic stream withholds
// its last piece until length and digest are confirmed, so a wrong blob ends the request short of
// its Content-Length and the registry commits nothing; chunked uploads are hashed as they go and
// never closed when wrong. A failed session is cancelled (`DELETE`), best effort.
//
// Chunks are held in memory (one at a time), which makes them the retryable part: a 401 on a
// PATCH is answered by sending the chunk again with a fresh token, and a 416 by asking the
// session how much it holds (`GET`, its `Range`) and sending from there.

import type { Hash } from "node:crypto";
import { PassThrough, pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import { createHasher, parseDigest, type ParsedDigest } from "../content/digest.ts";
import { discard, type TransportResponse } from "./http-transport.ts";
import { failureOf, header, pushScope, v2Url, type RegistryTarget } from "./registry-requests.ts";
import { receivedBytes, sessionUrl, withDigest } from "./upload-location.ts";
import { describeRequest, transportFailure } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

const OCTET_STREAM = "application/octet-stream";
/** Attempts at one chunk (416 resumes and short acknowledgements), so a confused registry ends. */
const MAX_CHUNK_ATTEMPTS = 5;

export interface UploadSession {
  /** Where the next request of the session goes. */
  location: URL;
  /** `OCI-Chunk-Min-Length`: the smallest chunk the registry takes but for the last. */
  readonly minChunkBytes: number | undefined;
}

export async function startUpload(target: RegistryTarget, name: string, signal?: AbortSignal): Promise<UploadSession> {
  const url = v2Url(target, `${name}/blobs/uploads/`);
  const response = await target.requester.send({
    method: "POST",
    url,
    scope: pushScope(name),
    body: "",
    ...(signal && { signal }),
  });
  if (response.statusCode !== 202) throw await failureOf(response, describeRequest("POST", url));
  await discard(response);
  const min = header(response, "oci-chunk-min-length");
  return {
    location: sessionUrl(header(response, "location"), url, "POST"),
    minChunkBytes: min !== undefined && /^\d+$/.test(min) ? Number(min) : undefined,
  };
}

/** Ends a session that will not be completed; failures are ignored (sessions expire anyway). */
export async function cancelUpload(target: RegistryTarget, name: string, session: UploadSession): Promise<void> {
  try {
    const response = await target.requester.send({
      method: "DELETE",
      url: session.location,
      scope: pushScope(name),
      signal: AbortSignal.timeout(10_000),
    });
    await discard(response);
  } catch {
    // best effort
  }
}

/** The whole blob in one streamed `PUT`. */
export async function sendMonolithic(
  target: RegistryTarget,
  name: string,
  session: UploadSession,
  blob: { digest: string; size: number; body: Readable },
  signal?: AbortSignal,
): Promise<void> {
  const url = withDigest(session.location, blob.digest);
  const where = describeRequest("PUT", url);
  const checked = new PassThrough();
  // Errors reach the request through `checked`; the pipeline's own callback has nothing to add.
  pipeline(blob.body, new VerifyingStream(blob.digest, blob.size, where), checked, () => undefined);
  const response = await target.requester.send({
    method: "PUT",
    url,
    scope: pushScope(name),
    headers: { "Content-Type": OCTET_STREAM },
    body: { stream: checked, length: blob.size },
    ...(signal && { signal }),
  });
  await expectCreated(response, blob.digest, where);
}

/** The blob in `PATCH`es of `chunkBytes` (or the registry's minimum), then the closing `PUT`. */
export async function sendChunked(
  target: RegistryTarget,
  name: string,
  session: UploadSession,
  blob: { digest: string; size: number; body: Readable },
  chunkBytes: number,
  signal?: AbortSignal,
): Promise<void> {
  const size = Math.max(1, Math.floor(chunkBytes), session.minChunkBytes ?? 0);
  const where = describeRequest("PATCH", session.location);
  const parsed = parseDigest(blob.digest);
  const hasher = typeof parsed === "string" ? undefined : createHasher(parsed.algorithm);
  let offset = 0;
  try {
    for await (const chunk of chunksOf(blob.body, size)) {
      if (offset + chunk.length > blob.size) {
        throw new UpstreamError("protocol", `${where}: the blob has more than its ${blob.size} bytes`);
      }
      hasher?.update(chunk);
      await sendChunk(target, name, session, chunk, offset, signal);
      offset += chunk.length;
    }
  } catch (err) {
    throw transportFailure(err, where, signal);
  }
  if (offset !== blob.size) {
    throw new UpstreamError("protocol", `${where}: the blob ended after ${offset} of its ${blob.size} bytes`);
  }
  if (hasher && typeof parsed !== "string" && hasher.digest("hex") !== parsed.hex) {
    throw new UpstreamError("protocol", `${where}: the bytes sent do not match ${blob.digest}`);
  }
  const url = withDigest(session.location, blob.digest);
  const response = await target.requester.send({
    method: "PUT",
    url,
    scope: pushScope(name),
    headers: { "Content-Type": OCTET_STREAM },
    body: "",
    ...(signal && { signal }),
  });
  await expectCreated(response, blob.digest, describeRequest("PUT", url));
}

/** One chunk, resumed where the session says it stands after a 416 or a short acknowledgement. */
async function sendChunk(
  target: RegistryTarget,
  name: string,
  session: UploadSession,
  chunk: Buffer,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const end = offset + chunk.length;
  let from = offset;
  for (let attempt = 0; attempt < MAX_CHUNK_ATTEMPTS; attempt++) {
    const url = session.location;
    const where = describeRequest("PATCH", url);
    const response = await target.requester.send({
      method: "PATCH",
      url,
      scope: pushScope(name),
      headers: { "Content-Type": OCTET_STREAM, "Content-Range": `${from}-${end - 1}` },
      body: chunk.subarray(from - offset),
      ...(signal && { signal }),
    });
    let held: number | undefined;
    if (response.statusCode === 202) {
      await discard(response);
      session.location = sessionUrl(header(response, "location") ?? url.href, url, "PATCH");
      held = receivedBytes(header(response, "range"), end) ?? end;
    } else if (response.statusCode === 416) {
      await discard(response);
      held = await uploadStatus(target, name, session, from, signal);
    } else {
      throw await failureOf(response, where);
    }
    if (held === end) return;
    if (held < offset || held > end) {
      throw new UpstreamError("protocol", `${where}: the session holds ${held} bytes, expected ${offset} to ${end}`);
    }
    from = held;
  }
  throw new UpstreamError("protocol", `${describeRequest("PATCH", session.location)}: the chunk was never taken`);
}

/** `GET` of the session: how many bytes it holds (`Range`), and its next `Location`. */
async function uploadStatus(
  target: RegistryTarget,
  name: string,
  session: UploadSession,
  expected: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const url = session.location;
  const where = describeRequest("GET", url);
  const response = await target.requester.send({
    method: "GET",
    url,
    scope: pushScope(name),
    ...(signal && { signal }),
  });
  if (response.statusCode !== 204 && response.statusCode !== 200) throw await failureOf(response, where);
  await discard(response);
  const held = receivedBytes(header(response, "range"), expected);
  if (held === undefined) throw new UpstreamError("protocol", `${where}: the upload status has no Range`);
  session.location = sessionUrl(header(response, "location") ?? url.href, url, "GET");
  return held;
}

async function expectCreated(response: TransportResponse, digest: string, where: string): Promise<void> {
  if (response.statusCode !== 201) throw await failureOf(response, where);
  await discard(response);
  const given = header(response, "docker-content-digest");
  if (given !== undefined && given !== digest) {
    throw new UpstreamError("protocol", `${where}: the registry stored ${given}, not ${digest}`);
  }
}

/** The stream cut into pieces of exactly `size` bytes, the last one shorter. */
async function* chunksOf(body: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of body) {
    let rest = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
    while (length + rest.length >= size) {
      const take = size - length;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      length = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}

/**
 * Passes the bytes through, holding back the latest piece until the end: only once the length
 * and digest are confirmed does the last piece go out, so a wrong blob never completes.
 */
class VerifyingStream extends Transform {
  private readonly expected: ParsedDigest | undefined;
  private readonly hasher: Hash | undefined;
  private readonly size: number;
  private readonly where: string;
  private seen = 0;
  private held: Buffer | undefined;

  constructor(digest: string, size: number, where: string) {
    super();
    const parsed = parseDigest(digest);
    // An algorithm this registry does not compute is left to the destination to check.
    this.expected = typeof parsed === "string" ? undefined : parsed;
    this.hasher = this.expected && createHasher(this.expected.algorithm);
    this.size = size;
    this.where = where;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) {
      callback(new UpstreamError("protocol", `${this.where}: the blob has more than its ${this.size} bytes`));
      return;
    }
    this.hasher?.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.size) {
      callback(new UpstreamError("protocol", `${this.where}: the blob ended after ${this.seen} of ${this.size} bytes`));
      return;
    }
    if (this.hasher && this.expected && this.hasher.digest("hex") !== this.expected.hex) {
      callback(new UpstreamError("protocol", `${this.where}: the bytes sent do not match ${this.expected.text}`));
      return;
    }
    if (this.held) this.push(this.held);
    callback();
  }
}
