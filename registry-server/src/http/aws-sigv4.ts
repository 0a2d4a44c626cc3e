// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html),
// what ECR's API and the S3 client need, without the AWS SDK: a canonical request over the
// method, path, sorted query, signed headers and the payload's hash, then an HMAC chain from the
// secret key down to date, region, service. Checked against AWS's published test suite and S3's
// worked examples.

import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** For temporary credentials (STS). */
  readonly sessionToken?: string;
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign besides Host and X-Amz-Date; names in any case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The payload, hashed into the signature; or its hash already made (`payloadHash`). */
  readonly body: string;
  /**
   * The payload's hex SHA-256 when the caller has it, or "UNSIGNED-PAYLOAD" (S3 over TLS): S3
   * signs what its `x-amz-content-sha256` header says.
   */
  readonly payloadHash?: string;
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as AWS demands. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** "20150830T123600Z" */
export function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), "aws4_request");
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams.entries()].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function canonicalPath(url: URL, service: string): string {
  const segments = url.pathname.split("/");
  // S3 encodes each segment once; the other services encode the already-encoded segments again.
  if (service === "s3") return segments.map((segment) => uriEncode(decodeURIComponent(segment))).join("/");
  return segments.map((segment) => uriEncode(segment)).join("/");
}

/**
 * The headers to add to the request: X-Amz-Date, Authorization, and X-Amz-Security-Token with
 * temporary credentials. Host is signed as `url.host`, which is what the HTTP client sends.
 */
export function signAwsRequest(
  request: SignableRequest,
  credentials: AwsCredentials,
  region: string,
  service: string,
  now: Date,
): Record<string, string> {
  const timestamp = amzDate(now);
  const date = timestamp.slice(0, 8);
  const added: Record<string, string> = { "X-Amz-Date": timestamp };
  if (credentials.sessionToken) added["X-Amz-Security-Token"] = credentials.sessionToken;
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries({ ...request.headers, ...added, Host: request.url.host })) {
    headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.url, service),
    canonicalQuery(request.url),
    names.map((name) => `${name}:${headers.get(name) ?? ""}\n`).join(""),
    signedHeaders,
    request.payloadHash ?? sha256Hex(request.body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope, sha256Hex(canonicalRequest)].join("\n");
  const signature = hmac(signingKey(credentials.secretAccessKey, date, region, service), stringToSign).toString("hex");
  added["Authorization"] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return added;
}
