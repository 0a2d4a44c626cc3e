// The HTTP connections of one upstream endpoint: keep-alive pools over undici with the
// endpoint's TLS settings (`insecure`, an extra CA) and the egress proxy chosen per target URL,
// since a blob redirect may lead to another host (a CDN, S3) that `noProxy` treats differently.
// Every request has the egress timeout for connecting, for the headers and between body chunks;
// every transport failure comes out as an UpstreamError. Request bodies are strings, buffers or
// streams; a stream is sent once, with the Content-Length its caller sets (replication's writes).

import type { Readable } from "node:stream";
import type { SecureContext } from "node:tls";
import type { Agent, Dispatcher, ProxyAgent } from "undici";
import { contextTrusting } from "../http/trusted-ca.ts";
import { proxyFor } from "./egress-proxy.ts";
import { describeRequest, transportFailure } from "./upstream-failures.ts";
import type { EgressSettings } from "./upstream-registry.ts";

export interface TransportOptions {
  readonly egress: EgressSettings;
  readonly insecure: boolean;
  readonly caCertificate?: string;
}

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface TransportRequest {
  readonly method: HttpMethod;
  readonly headers: Readonly<Record<string, string>>;
  /** A stream is consumed by the request: the caller sets its Content-Length in `headers`. */
  readonly body?: string | Buffer | Readable;
  readonly signal?: AbortSignal;
}

export type TransportResponse = Dispatcher.ResponseData;

export class HttpTransport {
  private readonly options: TransportOptions;
  private direct: Agent | undefined;
  private readonly proxies = new Map<string, ProxyAgent>();
  private secureContext: SecureContext | undefined;

  constructor(options: TransportOptions) {
    this.options = options;
  }

  /** Sends one request (no redirect following); the caller must consume or dump the body. */
  async send(url: URL, init: TransportRequest): Promise<TransportResponse> {
    const undici = await loadUndici();
    try {
      return await undici.request(url, {
        dispatcher: this.dispatcherFor(undici, url),
        method: init.method,
        headers: init.headers,
        ...(init.body !== undefined && { body: init.body }),
        ...(init.signal && { signal: init.signal }),
      });
    } catch (err) {
      throw transportFailure(err, describeRequest(init.method, url), init.signal);
    }
  }

  async close(): Promise<void> {
    const all: Dispatcher[] = [...this.proxies.values()];
    if (this.direct) all.push(this.direct);
    this.direct = undefined;
    this.proxies.clear();
    await Promise.all(all.map((dispatcher) => dispatcher.close().catch(() => undefined)));
  }

  private tls(): { rejectUnauthorized: boolean; secureContext?: SecureContext } {
    const { insecure, caCertificate } = this.options;
    // The default CAs beside the extra one, one context for every connection (see trusted-ca.ts).
    if (caCertificate !== undefined) this.secureContext ??= contextTrusting(caCertificate);
    return {
      rejectUnauthorized: !insecure,
      ...(this.secureContext && { secureContext: this.secureContext }),
    };
  }

  private timeouts(): { headersTimeout: number; bodyTimeout: number } {
    const ms = this.options.egress.timeoutMs;
    return { headersTimeout: ms, bodyTimeout: ms };
  }

  private dispatcherFor({ Agent, ProxyAgent }: Undici, url: URL): Dispatcher {
    const proxy = proxyFor(url, this.options.egress);
    const timeout = this.options.egress.timeoutMs;
    if (proxy === undefined) {
      this.direct ??= new Agent({ ...this.timeouts(), connect: { ...this.tls(), timeout } });
      return this.direct;
    }
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent({
        uri: proxy,
        ...this.timeouts(),
        connect: { timeout },
        requestTls: { ...this.tls(), timeout },
        proxyTls: { timeout },
      });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }
}

type Undici = typeof import("undici");
let undiciModule: Promise<Undici> | undefined;

/**
 * undici, loaded on the first upstream request rather than at start: ~25 MiB of memory that a
 * registry without proxy-cache projects or replication never needs.
 */
function loadUndici(): Promise<Undici> {
  undiciModule ??= import("undici");
  return undiciModule;
}

/** Reads a whole body, refusing more than `maxBytes`. */
export async function readBody(body: TransportResponse["body"], maxBytes: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      return "too-large";
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Discards a body so that the connection can be reused. */
export async function discard(response: TransportResponse): Promise<void> {
  await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}
