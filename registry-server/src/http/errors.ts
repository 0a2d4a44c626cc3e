// Errors as values with stable codes, written as JSON in one place. The registry API (/v2) speaks
// the OCI Distribution error format; the management API (/api/v2.0) speaks Harbor's. Both wrap a
// list of {code, message, detail?} in "errors".

import type { ServerResponse } from "node:http";
import { sendJson } from "./respond.ts";

/** The OCI Distribution error codes, each with the HTTP status the specification gives it. */
export const OCI_ERRORS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  // The specification's tables leave this one's status open; 400, as Distribution answers.
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the specification's table: Distribution's own code for a dependency that is down (a
  // proxy cache's upstream, with nothing cached). Clients show the message of unknown codes.
  UNAVAILABLE: 503,
  // Not in the specification's table either: the disk under the blobs or the metadata is full.
  // 507 rather than Distribution's 500: Docker prints a 5xx's status line, and "507 Insufficient
  // Storage" says what happened where "500 Internal Server Error" does not; go-containerregistry
  // (crane) retries 500 and 503 at once but not 507, so the same layer is not sent again into a
  // disk that stays full until someone acts.
  INSUFFICIENT_STORAGE: 507,
  // Not in the specification's table: Harbor's refusal of a pull by a project policy (an unsigned
  // or vulnerable artifact), which Docker shows as "unknown: <message>".
  PROJECTPOLICYVIOLATION: 412,
} as const;

export type OciErrorCode = keyof typeof OCI_ERRORS;

/** Harbor's error codes for /api/v2.0, with their HTTP status. */
export const HARBOR_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  // Harbor's code for a change refused by the system's read-only mode.
  DENIED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION: 412,
  // Not among Harbor's codes (it has no request it refuses for size): an import larger than
  // limits.maxImportBytes, or an archive entry larger than a manifest may be.
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  // Not among Harbor's codes, whose server errors are all UNKNOWN/500: the database or the blob
  // storage is down for now, and the client should come back after Retry-After.
  SERVICE_UNAVAILABLE: 503,
  // Not among Harbor's codes either: the disk under the blobs or the metadata is full (an import).
  INSUFFICIENT_STORAGE: 507,
} as const;

export type HarborErrorCode = keyof typeof HARBOR_ERRORS;

export class RegistryError extends Error {
  override name = "RegistryError";
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Headers the error response carries (a challenge, the current upload range…). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: OciErrorCode,
    message: string,
    options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.code = code;
    this.status = options.status ?? OCI_ERRORS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

export class HarborError extends Error {
  override name = "HarborError";
  readonly code: HarborErrorCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: HarborErrorCode, message: string, options: { headers?: Record<string, string> } = {}) {
    super(message);
    this.code = code;
    this.status = HARBOR_ERRORS[code];
    this.headers = options.headers ?? {};
  }
}

export function writeErrorBody(res: ServerResponse, error: RegistryError | HarborError): void {
  const entry: Record<string, unknown> = { code: error.code, message: error.message };
  if (error instanceof RegistryError && error.detail !== undefined) entry["detail"] = error.detail;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, { errors: [entry] });
}
