// The TLS trust for an endpoint with a private CA: the default CAs (Node's roots,
// NODE_EXTRA_CA_CERTS, the system's when enabled) plus that one, as one secure context made once
// and shared by every connection to the endpoint.
//
// Why one context: given `ca`, tls.connect builds a new secure context for each connection and
// parses the ~150 default certificates into it. Measured on the benchmark's machine, 300 fresh
// connections cost 23 ms of CPU each and grew the process by 230-250 MiB that it kept; with a
// shared context, 3 ms and 28 MiB. A replica pushing small images to S3 through a private CA
// peaked at 829 MiB before (bench/RESULTS.md).

import type { SecureContext } from "node:tls";

/**
 * A secure context trusting the default CAs and `caPem` (PEM, one or more certificates): pass it
 * as `secureContext` instead of `ca` (an explicit `ca` alone would replace the defaults).
 */
export function contextTrusting(caPem: string): SecureContext {
  // Asked for here, not imported: loading node:tls costs a worker ~2 MiB, and only an endpoint
  // with a CA of its own needs it this early.
  const tls = process.getBuiltinModule("node:tls");
  return tls.createSecureContext({ ca: [...tls.getCACertificates("default"), caPem] });
}
