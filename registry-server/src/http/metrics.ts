// Prometheus metrics for the HTTP surface, plus the process metrics prom-client collects, served
// at `GET /metrics`. Each instance owns its registry (never prom-client's global one), so several
// registries in one process, as in the tests, do not collide.

import type { IncomingMessage } from "node:http";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "./prometheus.ts";
import type { Router } from "./router.ts";

export interface HttpObservation {
  method: string;
  /** A route name from a fixed set (`blob_get`), never a raw path: labels must stay bounded. */
  route: string;
  status: number;
  durationSeconds: number;
  /** Request body bytes received. */
  bytesIn: number;
  /** Response bytes sent. */
  bytesOut: number;
}

/** The text `GET /metrics` answers, and its content type. */
export type MetricsSource = () => Promise<{ text: string; contentType: string }>;

const PREFIX = "airlock_";
/** From a cached manifest (about a millisecond) to a multi-gigabyte layer (a minute and more). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]);
const ROUTE_PATTERN = /^[a-z0-9_]{1,64}$/;

// Whatever a client sends, label values come from a bounded set.
const methodLabel = (method: string): string =>
  KNOWN_METHODS.has(method.toUpperCase()) ? method.toUpperCase() : "OTHER";
const routeLabel = (route: string): string => (ROUTE_PATTERN.test(route) ? route : "other");
const statusLabel = (status: number): string =>
  Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other";
const nonNegative = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);

export class HttpMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly duration: Histogram<"method" | "route">;
  private readonly requestBytes: Counter<"method" | "route">;
  private readonly responseBytes: Counter<"method" | "route">;

  constructor() {
    this.registry = new Registry();
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${PREFIX}http_requests_total`,
      help: "HTTP requests answered, by method, route and status.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.duration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: "Time from receiving a request to finishing its response.",
      labelNames: ["method", "route"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.requestBytes = new Counter({
      name: `${PREFIX}http_request_bytes_total`,
      help: "Request body bytes received.",
      labelNames: ["method", "route"],
      registers,
    });
    this.responseBytes = new Counter({
      name: `${PREFIX}http_response_bytes_total`,
      help: "Response bytes sent.",
      labelNames: ["method", "route"],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  observe(observation: HttpObservation): void {
    const method = methodLabel(observation.method);
    const route = routeLabel(observation.route);
    this.requests.inc({ method, route, status: statusLabel(observation.status) });
    this.duration.observe({ method, route }, nonNegative(observation.durationSeconds));
    this.requestBytes.inc({ method, route }, nonNegative(observation.bytesIn));
    this.responseBytes.inc({ method, route }, nonNegative(observation.bytesOut));
  }

  /**
   * Adds `GET /metrics` in the Prometheus text format: this registry's metrics, or what `source`
   * gives (the sum over every worker process of the server, cluster/cluster-metrics.ts). The
   * families named by `restricted.prefixes` (project names and sizes, private ones included) are
   * left out unless `restricted.allowed` says the caller may read them.
   */
  addMetricsRoute(
    router: Router,
    source?: MetricsSource,
    restricted?: { prefixes: readonly string[]; allowed: (req: IncomingMessage) => Promise<boolean> },
  ): void {
    const read: MetricsSource =
      source ?? (async () => ({ text: await this.registry.metrics(), contentType: this.registry.contentType }));
    router.add("metrics", "GET", /^\/metrics$/, async ({ req, res }) => {
      const all = await read();
      const hidden = restricted && !(await restricted.allowed(req)) ? restricted.prefixes : [];
      const { text, contentType } = { ...all, text: withoutFamilies(all.text, hidden) };
      res.statusCode = 200;
      res.setHeader("Content-Type", contentType);
      res.setHeader("Content-Length", Buffer.byteLength(text));
      res.setHeader("Cache-Control", "no-store");
      res.end(text);
    });
  }
}

/**
 * The exposition text without the metric families whose names start with one of `prefixes`:
 * their `# HELP` and `# TYPE` lines and their samples.
 */
export function withoutFamilies(text: string, prefixes: readonly string[]): string {
  if (prefixes.length === 0) return text;
  const hidden = (name: string): boolean => prefixes.some((prefix) => name.startsWith(prefix));
  return text
    .split("\n")
    .filter((line) => {
      const name = line.startsWith("# ")
        ? (line.split(" ")[2] ?? "")
        : (/^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? "");
      return !hidden(name);
    })
    .join("\n");
}
