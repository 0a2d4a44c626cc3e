// Node's error codes for a peer that refuses, drops or never answers a connection, or a name that
// does not resolve: what the metadata database's and the S3 storage's clients report as the
// backend being unreachable (a failure that passes) rather than as a refusal.

const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/** Whether `code` (an error's `code`) says the peer could not be reached. */
export function isNetworkErrorCode(code: unknown): code is string {
  return typeof code === "string" && NETWORK_CODES.has(code);
}
