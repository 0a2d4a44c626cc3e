// A small S3 client: the calls the S3 driver makes (objects whole or by range, multipart uploads,
// listings, the bucket's health check), over Node's http with keep-alive, signed with SigV4
// (http/aws-sigv4.ts), for a bucket on AWS or on an S3-compatible server on premises (versitygw,
// MinIO, Ceph RGW, appliances).
//
// Written here rather than taken from the AWS SDK, whose client held 4-6 MiB more in every process
// on S3 for the same CPU (bench/profiles/README.md, "Memory"). What the SDK gave the driver, this
// keeps:
// - credentials that are static or come from AWS's chain (variables, profiles, web identity, ECS,
//   EC2, refreshed before they expire), the chain loaded only when no key is configured;
// - retries with backoff and jitter when S3 throttles, answers 5xx or drops the connection: bodies
//   are buffers, so a retry sends them again;
// - S3's error document as the error's name ("NoSuchBucket"), including a
//   CompleteMultipartUpload that answers 200 with an error inside;
// - requests signed again with S3's time when it refuses our clock as too far from its own;
// - path-style and virtual-hosted addressing, AWS's regional endpoints;
// - a private CA trusted through one TLS context, connection and idle timeouts.
//
// A blob's bytes (PutObject, UploadPart) go as UNSIGNED-PAYLOAD over TLS: hashing them for the
// signature was a second pass over every pushed byte (1.4 CPU-seconds per GiB measured on the
// benchmark's machine), the registry has already checked the blob's digest as it streamed in, TLS
// protects the body, and the signature still covers the method, the key and the headers. Over
// plain HTTP their hash is signed.

import { createHash, type BinaryLike } from "node:crypto";
import type { LookupFunction } from "node:net";
import * as http from "node:http";
import * as https from "node:https";
import { signAwsRequest, uriEncode, type AwsCredentials } from "../http/aws-sigv4.ts";
import { contextTrusting } from "../http/trusted-ca.ts";
import { isNetworkErrorCode } from "../network-errors.ts";
import { xmlElements, xmlEscape, xmlText } from "./s3-xml.ts";

export interface S3ConnectionOptions {
  readonly region: string;
  /** An S3-compatible server's URL ("https://s3.corp.example:9000"); AWS's endpoints when absent. */
  readonly endpoint?: string;
  /** Buckets in the path ("host/bucket/key") rather than the host name ("bucket.host/key"). */
  readonly forcePathStyle: boolean;
  /** Static credentials; when absent, AWS's chain (AWS_* variables, profiles, web identity, ECS, EC2). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** PEM certificates trusted for the endpoint, in addition to the system's. */
  readonly ca?: string;
  /** Accept any certificate from the endpoint: for a test installation only. */
  readonly insecure: boolean;
  /** How host names are resolved; the system's resolver when absent (tests stand in for DNS). */
  readonly lookup?: LookupFunction;
}

/** S3 answered with an error: its code is the error's name ("NoSuchKey", "SlowDown"). */
export class S3ResponseError extends Error {
  /** The HTTP status; 200 for an error inside a CompleteMultipartUpload's answer. */
  readonly status: number;
  readonly requestId: string | undefined;
  /** The server's clock when it answered (its Date header), in milliseconds since the epoch. */
  readonly serverTime: number | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    details: { readonly requestId?: string | undefined; readonly serverTime?: number | undefined } = {},
  ) {
    super(message);
    this.name = code;
    this.status = status;
    this.requestId = details.requestId;
    this.serverTime = details.serverTime;
  }

  get code(): string {
    return this.name;
  }
}

/** No answer came from S3: the connection was refused, cut or timed out. */
export class S3ConnectionError extends Error {
  /** "unreachable (ECONNREFUSED)", "timed out". */
  readonly reason: string;

  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "S3ConnectionError";
    this.reason = reason;
  }
}

export interface ObjectHead {
  readonly size: number;
  readonly modifiedAt: Date;
}

export interface ObjectBody {
  /** The bytes as they arrive; destroy it to give the connection up early. */
  readonly body: http.IncomingMessage;
  /** A ranged read's "bytes 0-9/1000". */
  readonly contentRange: string | undefined;
  readonly contentLength: number | undefined;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly modifiedAt: Date;
}

export interface ObjectListing {
  readonly objects: readonly ListedObject[];
  readonly isTruncated: boolean;
  readonly nextContinuationToken: string | undefined;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** Connecting is quick or the server is not there. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * A connection that moves no byte for this long is cut: a hung server must not hold a push
 * forever. It also cuts a pull whose client stopped reading for that long.
 */
const SOCKET_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Per client: concurrent blob reads and part uploads share these connections. */
const MAX_SOCKETS = 64;
/** Tries per call, the first included (the AWS SDK's standard retry mode). */
const MAX_ATTEMPTS = 3;
/** Backoff before retry n (from 1): a random wait up to min(cap, base × 2^n), AWS's "full jitter". */
const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 20_000;
/** An error document or a listing page is small; a larger answer is no S3. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

const EMPTY_PAYLOAD_HASH = createHash("sha256").digest("hex");
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** Codes S3 and compatible servers give when they will serve again soon, whatever the status. */
const TRANSIENT_CODES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
]);

/** S3's refusal of a signature made with a clock too far from its own (15 minutes). */
const CLOCK_SKEW_CODE = "RequestTimeTooSkewed";
/** A correction smaller than this would not have changed S3's answer: the refusal stands. */
const MIN_CLOCK_CORRECTION_MS = 60_000;

/** Names for the errors of answers without a document (HEAD), as the AWS SDK names them. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  301: "MovedPermanently",
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  412: "PreconditionFailed",
  416: "InvalidRange",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

/** Why `error`, raised by a connection, means no answer; undefined for any other error. */
export function connectionFailureReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (isNetworkErrorCode(code)) return `unreachable (${code})`;
  if (error.name === "TimeoutError") return "timed out";
  if (error instanceof AggregateError) {
    // Node tries every address of a name and reports them together.
    for (const inner of error.errors) {
      const reason = connectionFailureReason(inner);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

/** Whether S3 is likely to serve the same request if asked again a little later. */
export function isTransient(error: unknown): boolean {
  if (error instanceof S3ConnectionError) return true;
  if (!(error instanceof S3ResponseError)) return false;
  return error.status >= 500 || error.status === 429 || TRANSIENT_CODES.has(error.code);
}

interface S3Request {
  /** For messages: "GetObject". */
  readonly operation: string;
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  readonly bucket: string;
  readonly key?: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** A blob's bytes: sent unsigned over TLS (see the top of this file). */
  readonly objectBytes?: boolean;
  readonly signal?: AbortSignal;
}

type CredentialSource = () => Promise<AwsCredentials>;

export class S3Client {
  readonly #options: S3ConnectionOptions;
  readonly #endpoint: URL;
  readonly #tls: boolean;
  readonly #agent: http.Agent;
  readonly #credentials: CredentialSource;
  /** How far S3's clock is ahead of ours, learnt from a refusal for skew; requests are signed with its time. */
  #clockOffsetMs = 0;

  constructor(options: S3ConnectionOptions) {
    this.#options = options;
    this.#endpoint = new URL(options.endpoint ?? awsEndpoint(options.region));
    if (this.#endpoint.protocol !== "https:" && this.#endpoint.protocol !== "http:") {
      throw new Error(`S3 endpoint ${this.#endpoint.href} is neither http nor https`);
    }
    this.#tls = this.#endpoint.protocol === "https:";
    const agentOptions = {
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      ...(options.lookup && { lookup: options.lookup }),
    };
    if (this.#tls) {
      // The default trust plus the private CA, one context for every connection (see trusted-ca.ts).
      const secureContext = options.ca === undefined ? undefined : contextTrusting(options.ca);
      this.#agent = new https.Agent({
        ...agentOptions,
        ...(secureContext && { secureContext }),
        ...(options.insecure && { rejectUnauthorized: false }),
      });
    } else {
      this.#agent = new http.Agent(agentOptions);
    }
    this.#credentials = credentialSource(options.credentials);
  }

  async putObject(bucket: string, key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.#send(
      {
        operation: "PutObject",
        method: "PUT",
        bucket,
        key,
        body,
        objectBytes: true,
        ...(signal && { signal }),
      },
      discardBody,
    );
  }

  /** Starts a multipart upload; its id. */
  async createMultipartUpload(bucket: string, key: string): Promise<string> {
    const operation = "CreateMultipartUpload";
    const request: S3Request = { operation, method: "POST", bucket, key, query: { uploads: "" } };
    const uploadId = xmlText(await this.#send(request, (response) => readDocument(response, operation)), "UploadId");
    if (!uploadId) throw new Error(`S3 gave no upload id for ${key}`);
    return uploadId;
  }

  /** Stores one part; its ETag. */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Buffer,
    signal?: AbortSignal,
  ): Promise<string> {
    const etag = await this.#send(
      {
        operation: "UploadPart",
        method: "PUT",
        bucket,
        key,
        query: { partNumber: String(partNumber), uploadId },
        body,
        objectBytes: true,
        ...(signal && { signal }),
      },
      (response) => discardBody(response, response.headers.etag),
    );
    if (!etag) throw new Error(`S3 gave no ETag for part ${partNumber} of ${key}`);
    return etag;
  }

  /** Makes the object of a multipart upload visible, its parts in ascending order. */
  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
  ): Promise<void> {
    const operation = "CompleteMultipartUpload";
    const xml =
      "<CompleteMultipartUpload>" +
      parts
        .map((part) => `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${xmlEscape(part.etag)}</ETag></Part>`)
        .join("") +
      "</CompleteMultipartUpload>";
    const request: S3Request = {
      operation,
      method: "POST",
      bucket,
      key,
      query: { uploadId },
      headers: { "content-type": "application/xml" },
      body: Buffer.from(xml, "utf8"),
    };
    await this.#send(request, async (response) => {
      // S3 may answer 200 at once and then fail the assembly: the error is in the document, and
      // retried like any other (an InternalError passes).
      const document = await readDocument(response, operation);
      if (/<Error[\s>]/.test(document)) throw errorFromDocument(200, document, describeRequest(request));
    });
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.#send(
      { operation: "AbortMultipartUpload", method: "DELETE", bucket, key, query: { uploadId } },
      discardBody,
    );
  }

  /** The object's bytes, or those of `range` ("bytes=0-9"). */
  async getObject(bucket: string, key: string, range?: string): Promise<ObjectBody> {
    const request: S3Request = {
      operation: "GetObject",
      method: "GET",
      bucket,
      key,
      ...(range !== undefined && { headers: { range } }),
    };
    // The body is the caller's to read: a connection cut midway is not retried.
    const response = await this.#send(request, (answer) => Promise.resolve(answer));
    const length = response.headers["content-length"];
    return {
      body: response,
      contentRange: response.headers["content-range"],
      contentLength: length === undefined ? undefined : Number(length),
    };
  }

  /** The object's size and date, or undefined when there is no such key. */
  async headObject(bucket: string, key: string): Promise<ObjectHead | undefined> {
    try {
      return await this.#send({ operation: "HeadObject", method: "HEAD", bucket, key }, (response) =>
        discardBody(response, {
          size: Number(response.headers["content-length"] ?? 0),
          modifiedAt: dateOf(response.headers["last-modified"]),
        }),
      );
    } catch (error) {
      if (error instanceof S3ResponseError && error.status === 404) return undefined;
      throw error;
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.#send({ operation: "DeleteObject", method: "DELETE", bucket, key }, discardBody);
  }

  /** One page of the keys under `prefix`, in UTF-8 byte order (ListObjectsV2). */
  async listObjects(bucket: string, prefix: string, maxKeys: number, token?: string): Promise<ObjectListing> {
    const operation = "ListObjectsV2";
    const request: S3Request = {
      operation,
      method: "GET",
      bucket,
      query: {
        "list-type": "2",
        prefix,
        "max-keys": String(maxKeys),
        ...(token !== undefined && { "continuation-token": token }),
      },
    };
    const document = await this.#send(request, (response) => readDocument(response, operation));
    const objects = xmlElements(document, "Contents").map((entry) => ({
      key: xmlText(entry, "Key") ?? "",
      size: Number(xmlText(entry, "Size") ?? 0),
      modifiedAt: dateOf(xmlText(entry, "LastModified")),
    }));
    return {
      objects,
      isTruncated: xmlText(document, "IsTruncated") === "true",
      nextContinuationToken: xmlText(document, "NextContinuationToken"),
    };
  }

  /** Resolves when the bucket exists and these credentials may use it. */
  async headBucket(bucket: string, signal?: AbortSignal): Promise<void> {
    await this.#send({ operation: "HeadBucket", method: "HEAD", bucket, ...(signal && { signal }) }, discardBody);
  }

  /** Closes the idle connections; requests in flight finish. */
  destroy(): void {
    this.#agent.destroy();
  }

  /**
   * Sends the request and reads its successful answer with `read` (`discardBody` when only the
   * status matters), again while either fails for a reason that passes.
   */
  async #send<T>(request: S3Request, read: (response: http.IncomingMessage) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read(await this.#sendOnce(request));
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || request.signal?.aborted) throw error;
        const offset = clockOffset(error);
        if (offset !== undefined && Math.abs(offset - this.#clockOffsetMs) >= MIN_CLOCK_CORRECTION_MS) {
          // Signed again at once with S3's time, as the AWS SDK corrects a machine's clock.
          this.#clockOffsetMs = offset;
          continue;
        }
        if (!isTransient(error)) throw error;
      }
      await backoff(attempt, request.signal);
    }
  }

  async #sendOnce(request: S3Request): Promise<http.IncomingMessage> {
    const url = this.#url(request);
    const body = request.body ?? Buffer.alloc(0);
    const payloadHash =
      body.length === 0 ? EMPTY_PAYLOAD_HASH : request.objectBytes && this.#tls ? UNSIGNED_PAYLOAD : sha256Hex(body);
    const headers: Record<string, string> = {
      ...request.headers,
      "x-amz-content-sha256": payloadHash,
      ...(request.method === "PUT" || request.method === "POST" ? { "content-length": String(body.length) } : {}),
    };
    const signed = signAwsRequest(
      { method: request.method, url, headers, body: "", payloadHash },
      await this.#credentials(),
      this.#options.region,
      "s3",
      new Date(Date.now() + this.#clockOffsetMs),
    );
    const response = await exchange(
      url,
      {
        method: request.method,
        agent: this.#agent,
        headers: { ...headers, ...signed },
        timeout: SOCKET_IDLE_TIMEOUT_MS,
        ...(request.signal && { signal: request.signal }),
      },
      body,
      describeRequest(request),
    );
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const document = request.method === "HEAD" ? "" : await readDocument(response, request.operation).catch(() => "");
    response.resume();
    throw errorFromDocument(status, document, describeRequest(request), response.headers);
  }

  #url(request: S3Request): URL {
    const url = new URL(this.#endpoint.href);
    const keyPath = request.key === undefined ? "" : `/${request.key.split("/").map(uriEncode).join("/")}`;
    const basePath = url.pathname.replace(/\/+$/, "");
    if (this.#pathStyle(request.bucket)) {
      url.pathname = `${basePath}/${uriEncode(request.bucket)}${keyPath}`;
    } else {
      url.hostname = `${request.bucket}.${url.hostname}`;
      url.pathname = `${basePath}${keyPath || "/"}`;
    }
    // Keys and the query encoded as SigV4 encodes them (URLSearchParams would send a space as "+").
    url.search = Object.entries(request.query ?? {})
      .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
      .join("&");
    return url;
  }

  /**
   * Path style when asked, or when the bucket's name cannot be a host name's label (or, over TLS,
   * holds dots that the endpoint's wildcard certificate would not cover), as the AWS SDK decides.
   */
  #pathStyle(bucket: string): boolean {
    if (this.#options.forcePathStyle) return true;
    const dnsCompatible = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes("..");
    return !dnsCompatible || (this.#tls && bucket.includes("."));
  }
}

/** AWS's regional endpoint (China's regions under amazonaws.com.cn). */
function awsEndpoint(region: string): string {
  return `https://s3.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

function sha256Hex(data: BinaryLike): string {
  return createHash("sha256").update(data).digest("hex");
}

function dateOf(text: string | undefined): Date {
  const date = new Date(text ?? 0);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

/** Static credentials, or AWS's chain: loaded on first use, memoised and refreshed by the chain. */
function credentialSource(credentials: S3ConnectionOptions["credentials"]): CredentialSource {
  if (credentials) {
    const fixed: AwsCredentials = {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    };
    return () => Promise.resolve(fixed);
  }
  let chain: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    chain ??= import("@aws-sdk/credential-provider-node").then(({ defaultProvider }) => defaultProvider());
    const identity = await (await chain)();
    return {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken !== undefined && { sessionToken: identity.sessionToken }),
    };
  };
}

/**
 * One request and its answer's head. A connection refused, cut or silent (no connection within
 * CONNECT_TIMEOUT_MS, no byte for SOCKET_IDLE_TIMEOUT_MS) rejects with S3ConnectionError.
 */
function exchange(url: URL, options: http.RequestOptions, body: Buffer, what: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const request = transport.request(url, options, resolve);
    const fail = (error: Error): void => {
      const reason = connectionFailureReason(error);
      reject(reason === undefined ? error : new S3ConnectionError(reason, `S3 ${what}: ${reason}`, { cause: error }));
    };
    request.on("error", fail);
    request.on("timeout", () => request.destroy(timeoutError("no data", SOCKET_IDLE_TIMEOUT_MS)));
    request.on("socket", (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(
        () => request.destroy(timeoutError("no connection", CONNECT_TIMEOUT_MS)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once("connect", () => clearTimeout(timer));
      socket.once("close", () => clearTimeout(timer));
    });
    request.end(body);
  });
}

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what} within ${ms} ms`), { name: "TimeoutError" });
}

/** Lets the answer's body go (the connection returns to the pool once it has ended); `value`. */
function discardBody<T>(response: http.IncomingMessage, value?: T): Promise<T> {
  response.resume();
  return Promise.resolve(value as T);
}

/** The answer's body as text, at most MAX_DOCUMENT_BYTES; a connection cut midway is S3ConnectionError. */
async function readDocument(response: http.IncomingMessage, operation: string): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.length;
      // Leaving the loop destroys the body, and its connection with it.
      if (total > MAX_DOCUMENT_BYTES)
        throw new Error(`S3 ${operation}: answer larger than ${MAX_DOCUMENT_BYTES} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    const reason = connectionFailureReason(error);
    if (reason === undefined) throw error;
    throw new S3ConnectionError(reason, `S3 ${operation}: answer cut: ${reason}`, { cause: error });
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

/** S3's clock minus ours, when `error` refused a signature for its time and says S3's time. */
function clockOffset(error: unknown): number | undefined {
  if (!(error instanceof S3ResponseError) || error.code !== CLOCK_SKEW_CODE) return undefined;
  return error.serverTime === undefined ? undefined : error.serverTime - Date.now();
}

/** "GetObject bucket/key", for messages. */
function describeRequest(request: S3Request): string {
  return `${request.operation} ${request.bucket}${request.key === undefined ? "" : `/${request.key}`}`;
}

/** The error an answer reports, named by its document's code or, without one, by its status. */
function errorFromDocument(
  status: number,
  document: string,
  where: string,
  headers?: http.IncomingHttpHeaders,
): S3ResponseError {
  const code = xmlText(document, "Code") ?? STATUS_NAMES[status] ?? `Http${status}`;
  const message = xmlText(document, "Message") ?? `${status} ${http.STATUS_CODES[status] ?? ""}`.trim();
  const requestId = xmlText(document, "RequestId") ?? headerText(headers?.["x-amz-request-id"]);
  const serverTime = headers?.date === undefined ? Number.NaN : Date.parse(headers.date);
  return new S3ResponseError(code, status, `S3 ${where}: ${code}: ${message}`, {
    requestId,
    ...(!Number.isNaN(serverTime) && { serverTime }),
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Waits before retry `attempt`; rejects at once if the caller gives up. */
function backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      const reason: unknown = signal?.reason;
      reject(reason instanceof Error ? reason : new Error("the S3 call was given up", { cause: reason }));
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}
