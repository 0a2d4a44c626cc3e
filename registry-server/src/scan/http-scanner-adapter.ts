// A scanner adapter reached over HTTP (harbor-scanner-trivy, Clair's adapter, any implementation of
// Harbor's Scanner Adapter API v1.1/v1.2), as the ScannerAdapter seam: `GET /api/v1/metadata`,
// `POST /api/v1/scan`, `GET /api/v1/scan/{id}/report`, with the API's MIME types in Accept and
// Content-Type, as Harbor's client (src/pkg/scan/rest/v1) sends them.
//
// The connection is upstream/http-transport.ts's: the egress proxy and `noProxy` of the server's
// configuration, and `skip_certVerify` as its `insecure`. Redirects are not followed: a 302 on a
// report is the adapter's "not yet" (with `Refresh-After`), anywhere else an error. Every call has
// a deadline on top of the transport's idle timeouts, honours the caller's signal, and reads at
// most a bounded number of bytes of any answer: an adapter cannot make the server hold gigabytes.
// Errors name the adapter's host and the call, never the credential.

import { discard, HttpTransport, readBody, type TransportResponse } from "../upstream/http-transport.ts";
import { UpstreamError, type EgressSettings } from "../upstream/upstream-registry.ts";
import type { ScannerAuth } from "../metadata/scanner-store.ts";
import type {
  ReportParameters,
  ReportResult,
  ScanRequest,
  ScannerAdapter,
  ScannerAdapterMetadata,
  ScannerCapability,
} from "./scanner-adapter.ts";

export const METADATA_MIME = "application/vnd.scanner.adapter.metadata+json; version=1.0";
export const SCAN_REQUEST_MIME = "application/vnd.scanner.adapter.scan.request+json; version=1.0";
/** The request of adapter API v1.2, with `enabled_capabilities`. */
export const SCAN_REQUEST_V11_MIME = "application/vnd.scanner.adapter.scan.request+json; version=1.1";
export const SCAN_RESPONSE_MIME = "application/vnd.scanner.adapter.scan.response+json; version=1.0";
export const ERROR_MIME = "application/vnd.scanner.adapter.error+json; version=1.0";
/** A report in the scanner's own format, passed on as text. */
export const RAW_REPORT_MIME = "application/vnd.scanner.adapter.vuln.report.raw";

/** What went wrong talking to an adapter. */
export type ScannerAdapterFailure =
  | "unreachable"
  | "timeout"
  | "unauthorized"
  /** The adapter answered with its error document (or a status the API does not allow). */
  | "refused"
  /** The answer is not what the API says (bad JSON, missing fields, a redirect). */
  | "protocol"
  | "too-large"
  | "server-error";

export class ScannerAdapterError extends Error {
  override name = "ScannerAdapterError";
  readonly kind: ScannerAdapterFailure;
  readonly status: number | undefined;

  constructor(kind: ScannerAdapterFailure, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

export interface HttpScannerAdapterOptions {
  /** The registration's URL: the API is under `<url>/api/v1`. */
  readonly url: string;
  readonly auth: ScannerAuth;
  /** The access credential in clear ("" without `auth`). */
  readonly credential: string;
  readonly skipCertVerify: boolean;
  readonly egress: EgressSettings;
  /** Deadline of one call, all of it (connecting, waiting, reading); the egress timeout by default. */
  readonly callTimeoutMs?: number;
  /** Largest report read; 32 MiB by default. Metadata and scan answers have smaller fixed bounds. */
  readonly maxReportBytes?: number;
}

const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_SCAN_RESPONSE_BYTES = 64 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
export const DEFAULT_MAX_REPORT_BYTES = 32 * 1024 * 1024;
/** Harbor's wait when a 302 has no usable `Refresh-After`. */
const DEFAULT_REFRESH_SECONDS = 5;
const MAX_REFRESH_SECONDS = 3_600;
/** A scan id goes into the report URL: a short token, not a path. */
const SCAN_ID = /^[\w.:~-]{1,256}$/;
/** Adapter-supplied text in messages is cut to this. */
const MAX_MESSAGE_CHARS = 512;

/** The header the registration's scheme puts on every request, as Harbor's authorizers do. */
export function authorizationHeaders(auth: ScannerAuth, credential: string): Record<string, string> {
  switch (auth) {
    case "":
      return {};
    case "Basic":
      // Harbor encodes the whole credential ("user:password").
      return { Authorization: `Basic ${Buffer.from(credential, "utf8").toString("base64")}` };
    case "Bearer":
      return { Authorization: `Bearer ${credential}` };
    case "X-ScannerAdapter-API-Key":
      return { "X-ScannerAdapter-API-Key": credential };
  }
}

/** Adapter text fit for a message: no control characters, bounded. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * The adapter's metadata, checked as Harbor checks it before registering: a scanner with a name,
 * vendor and version, and at least one capability with the MIME types it consumes and produces.
 */
export function parseMetadata(json: unknown, where: string): ScannerAdapterMetadata {
  const bad = (reason: string): ScannerAdapterError =>
    new ScannerAdapterError("protocol", `${where}: invalid metadata: ${reason}`);
  if (!isObject(json)) throw bad("not a JSON object");
  const scanner = json["scanner"];
  if (!isObject(scanner)) throw bad("no scanner");
  for (const key of ["name", "vendor", "version"] as const) {
    if (typeof scanner[key] !== "string" || scanner[key] === "") throw bad(`scanner.${key} is missing`);
  }
  const capabilities = json["capabilities"];
  if (!Array.isArray(capabilities) || capabilities.length === 0) throw bad("no capabilities");
  const checked: ScannerCapability[] = capabilities.map((capability, i) => {
    if (!isObject(capability)) throw bad(`capabilities[${i}] is not an object`);
    const type = capability["type"];
    if (type !== undefined && type !== "vulnerability" && type !== "sbom") {
      throw bad(`capabilities[${i}].type ${JSON.stringify(type)} is unknown`);
    }
    const consumes = capability["consumes_mime_types"];
    const produces = capability["produces_mime_types"];
    if (!isStringArray(consumes) || consumes.length === 0) throw bad(`capabilities[${i}].consumes_mime_types`);
    if (!isStringArray(produces) || produces.length === 0) throw bad(`capabilities[${i}].produces_mime_types`);
    const attributes = capability["additional_attributes"];
    return {
      ...(type !== undefined && { type }),
      consumes_mime_types: consumes,
      produces_mime_types: produces,
      ...(isObject(attributes) && { additional_attributes: attributes }),
    };
  });
  const properties = json["properties"];
  const kept: Record<string, string> = {};
  if (isObject(properties)) {
    for (const [key, value] of Object.entries(properties)) if (typeof value === "string") kept[key] = value;
  }
  return {
    scanner: {
      name: scanner["name"] as string,
      vendor: scanner["vendor"] as string,
      version: scanner["version"] as string,
    },
    capabilities: checked,
    properties: kept,
  };
}

export class HttpScannerAdapter implements ScannerAdapter {
  private readonly base: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly transport: HttpTransport;
  private readonly callTimeoutMs: number;
  private readonly maxReportBytes: number;

  constructor(options: HttpScannerAdapterOptions) {
    const base = new URL(options.url);
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new ScannerAdapterError("protocol", `a scanner adapter is reached over http(s), not ${base.protocol}`);
    }
    base.pathname = `${base.pathname.replace(/\/+$/, "")}/api/v1/`;
    this.base = base;
    this.headers = authorizationHeaders(options.auth, options.credential);
    this.transport = new HttpTransport({ egress: options.egress, insecure: options.skipCertVerify });
    this.callTimeoutMs = options.callTimeoutMs ?? options.egress.timeoutMs;
    this.maxReportBytes = options.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
  }

  async metadata(signal?: AbortSignal): Promise<ScannerAdapterMetadata> {
    return this.call("GET", "metadata", { Accept: METADATA_MIME }, undefined, signal, async (response, where) => {
      if (response.statusCode !== 200) throw await this.failure(response, where, 200);
      return parseMetadata(await this.json(response, where, MAX_METADATA_BYTES), where);
    });
  }

  async scan(request: ScanRequest, signal?: AbortSignal): Promise<string> {
    const headers = {
      "Content-Type": request.enabled_capabilities ? SCAN_REQUEST_V11_MIME : SCAN_REQUEST_MIME,
      Accept: SCAN_RESPONSE_MIME,
    };
    return this.call("POST", "scan", headers, JSON.stringify(request), signal, async (response, where) => {
      if (response.statusCode !== 202) throw await this.failure(response, where, 202);
      const json = await this.json(response, where, MAX_SCAN_RESPONSE_BYTES);
      const id = isObject(json) ? json["id"] : undefined;
      if (typeof id !== "string" || !SCAN_ID.test(id)) {
        throw new ScannerAdapterError("protocol", `${where}: the answer has no usable scan id`);
      }
      return id;
    });
  }

  async report(
    scanId: string,
    mimeType: string,
    signal?: AbortSignal,
    parameters: ReportParameters = {},
  ): Promise<ReportResult> {
    if (!SCAN_ID.test(scanId)) throw new ScannerAdapterError("protocol", `invalid scan id ${JSON.stringify(scanId)}`);
    // v1.2: the SBOM format in the query, as Harbor asks for it.
    const query =
      parameters.sbomMediaType === undefined ? "" : `?sbom_media_type=${encodeURIComponent(parameters.sbomMediaType)}`;
    const path = `scan/${encodeURIComponent(scanId)}/report${query}`;
    return this.call("GET", path, { Accept: mimeType }, undefined, signal, async (response, where) => {
      const status = response.statusCode;
      if (status === 302) {
        await discard(response);
        return { state: "pending", retryAfterSeconds: refreshAfter(response.headers["refresh-after"]) };
      }
      if (status === 200) {
        if (mimeType === RAW_REPORT_MIME) {
          return { state: "ready", report: (await this.bytes(response, where, this.maxReportBytes)).toString("utf8") };
        }
        return { state: "ready", report: await this.json(response, where, this.maxReportBytes) };
      }
      // The API's answers for a scan that will not produce this report: it failed (500), the
      // adapter lost it (404), or cannot make this MIME type (501).
      if (status === 500 || status === 404 || status === 501) {
        const message = (await this.errorMessage(response)) ?? `status ${status}`;
        return { state: "failed", message: `${where}: ${message}` };
      }
      throw await this.failure(response, where, 200);
    });
  }

  /** Closes the connections; the adapter is not used afterwards. */
  close(): Promise<void> {
    return this.transport.close();
  }

  private async call<T>(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    handle: (response: TransportResponse, where: string) => Promise<T>,
  ): Promise<T> {
    const url = new URL(path, this.base);
    const where = `${method} ${url.host}${url.pathname}`;
    const deadline = AbortSignal.timeout(this.callTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const response = await this.transport.send(url, {
        method,
        headers: { ...headers, ...this.headers },
        ...(body !== undefined && { body }),
        signal: combined,
      });
      try {
        return await handle(response, where);
      } finally {
        // Whatever was not read is dropped (a no-op once the body was read).
        response.body.destroy();
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err;
      if (deadline.aborted && !(err instanceof ScannerAdapterError)) {
        throw new ScannerAdapterError("timeout", `${where}: no complete answer within ${this.callTimeoutMs} ms`, {
          cause: err,
        });
      }
      if (err instanceof UpstreamError) {
        const kind = err.kind === "timeout" ? "timeout" : err.kind === "protocol" ? "protocol" : "unreachable";
        throw new ScannerAdapterError(kind, err.message, { cause: err });
      }
      throw err;
    }
  }

  private async bytes(response: TransportResponse, where: string, maxBytes: number): Promise<Buffer> {
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      throw new ScannerAdapterError("too-large", `${where}: the answer is ${declared} bytes, more than ${maxBytes}`);
    }
    const body = await readBody(response.body, maxBytes);
    if (body === "too-large") {
      throw new ScannerAdapterError("too-large", `${where}: the answer is larger than ${maxBytes} bytes`);
    }
    return body;
  }

  private async json(response: TransportResponse, where: string, maxBytes: number): Promise<unknown> {
    const bytes = await this.bytes(response, where, maxBytes);
    try {
      return JSON.parse(bytes.toString("utf8")) as unknown;
    } catch {
      throw new ScannerAdapterError("protocol", `${where}: the answer is not JSON`);
    }
  }

  /** The adapter's error document's message, when it sent one. */
  private async errorMessage(response: TransportResponse): Promise<string | undefined> {
    const body = await readBody(response.body, MAX_ERROR_BYTES).catch(() => "too-large" as const);
    if (body === "too-large" || body.length === 0) return undefined;
    try {
      const json = JSON.parse(body.toString("utf8")) as unknown;
      const error = isObject(json) ? json["error"] : undefined;
      const message = isObject(error) ? error["message"] : undefined;
      return typeof message === "string" && message !== "" ? clean(message) : undefined;
    } catch {
      return undefined;
    }
  }

  private async failure(response: TransportResponse, where: string, expected: number): Promise<ScannerAdapterError> {
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      await discard(response);
      return new ScannerAdapterError("unauthorized", `${where}: ${status}: the adapter refused the credential`, {
        status,
      });
    }
    if (status >= 300 && status < 400) {
      await discard(response);
      return new ScannerAdapterError("protocol", `${where}: unexpected redirect (${status})`, { status });
    }
    const message = await this.errorMessage(response);
    const text = `${where}: ${status}, expected ${expected}${message === undefined ? "" : `: ${message}`}`;
    if (status === 502 || status === 503 || status === 504)
      return new ScannerAdapterError("server-error", text, { status });
    return new ScannerAdapterError(message === undefined ? "protocol" : "refused", text, { status });
  }
}

/** `Refresh-After` in seconds, as Harbor reads it: an integer, else its default. */
function refreshAfter(value: string | string[] | undefined): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return DEFAULT_REFRESH_SECONDS;
  return Math.min(Math.max(Number(text), 1), MAX_REFRESH_SECONDS);
}
