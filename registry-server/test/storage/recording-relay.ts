// A relay between the S3 client under test and a real S3 server, on loopback: it passes every
// request on unchanged (the Host header too, which the signature covers) and notes what went on
// the wire, so that a test can read which headers a request carried. Over TLS it serves its own
// certificate and reaches the server without checking the server's.

import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";

export interface RelayedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface RecordingRelay {
  /** Where the client under test connects. */
  readonly endpoint: string;
  readonly requests: RelayedRequest[];
  close(): Promise<void>;
}

export async function startRecordingRelay(
  target: string,
  tls?: { readonly certFile: string; readonly keyFile: string },
): Promise<RecordingRelay> {
  const requests: RelayedRequest[] = [];
  const targetUrl = new URL(target);
  const transport = targetUrl.protocol === "https:" ? https : http;
  const agent = new transport.Agent({
    keepAlive: true,
    ...(targetUrl.protocol === "https:" && { rejectUnauthorized: false }),
  });
  const relay = (incoming: http.IncomingMessage, outgoing: http.ServerResponse): void => {
    requests.push({ method: incoming.method ?? "", url: incoming.url ?? "", headers: { ...incoming.headers } });
    const forwarded = transport.request(
      {
        hostname: targetUrl.hostname,
        port: targetUrl.port,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
        agent,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, outgoing).catch(() => outgoing.destroy());
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    pipeline(incoming, forwarded).catch(() => forwarded.destroy());
  };
  const server = tls
    ? https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, relay)
    : http.createServer(relay);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** The x-amz-content-sha256 of each request that `matches`, in the order they were sent. */
export function payloadHashes(
  requests: readonly RelayedRequest[],
  matches: (request: RelayedRequest) => boolean,
): string[] {
  return requests.filter(matches).map((request) => String(request.headers["x-amz-content-sha256"] ?? "(none)"));
}

/** S3's operations as they look on the wire. */
export const isPartUpload = (request: RelayedRequest): boolean =>
  request.method === "PUT" && /[?&]partNumber=/.test(request.url);
export const isPutObject = (request: RelayedRequest): boolean => request.method === "PUT" && !request.url.includes("?");
export const isCompletion = (request: RelayedRequest): boolean =>
  request.method === "POST" && /[?&]uploadId=/.test(request.url);
