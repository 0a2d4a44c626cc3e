// Endpoint health, Harbor's registry `status`: every endpoint is pinged periodically and marked
// "healthy" or "unhealthy"; a change is logged with the failure's kind, so that an operator sees
// an upstream going down before users do. Pings run a few at a time, each bounded by the egress
// timeout, and stop() aborts those in flight.

import type { Logger } from "../logger.ts";
import type { RegistryMetadata, RegistryRecord } from "../metadata/registry-store.ts";
import type { RegistryEndpoints } from "./registry-endpoints.ts";
import { UpstreamError, type UpstreamFactory } from "./upstream-registry.ts";

const CONCURRENCY = 4;
const PAGE = 100;
/** Passes look at this many endpoints at most. */
const MAX_ENDPOINTS = 10_000;

export interface EndpointHealthDeps {
  readonly store: RegistryMetadata;
  readonly endpoints: RegistryEndpoints;
  readonly factory: UpstreamFactory;
  readonly log: Logger;
}

export type HealthStatus = "healthy" | "unhealthy";

export class EndpointHealth {
  private readonly deps: EndpointHealthDeps;
  private readonly intervalMs: number;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private readonly single = new Set<Promise<unknown>>();

  constructor(deps: EndpointHealthDeps, intervalMs: number) {
    this.deps = deps;
    this.intervalMs = intervalMs;
  }

  /** Checks every endpoint now, then every interval. */
  start(): void {
    const run = (): void => {
      this.pass = this.checkAll().finally(() => {
        this.pass = undefined;
        if (this.abort.signal.aborted) return;
        this.timer = setTimeout(run, this.intervalMs);
        this.timer.unref();
      });
    };
    run();
  }

  /** Pings one endpoint in the background (after it was created or changed). */
  checkSoon(id: number): void {
    const check = this.deps.store
      .get(id)
      .then((record) => record && this.check(record))
      .catch((err: unknown) => this.deps.log.error({ err, registryId: id }, "registry health check failed"));
    this.single.add(check);
    void check.finally(() => this.single.delete(check));
  }

  /** Pings the endpoint, records its status when it changed, and returns it. */
  async check(record: RegistryRecord): Promise<HealthStatus> {
    const adapter = this.deps.factory(this.deps.endpoints.toEndpoint(record));
    let status: HealthStatus = "healthy";
    let failure: UpstreamError | undefined;
    try {
      await adapter.ping(this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return record.status === "healthy" ? "healthy" : "unhealthy";
      status = "unhealthy";
      failure = err instanceof UpstreamError ? err : new UpstreamError("protocol", String(err));
    } finally {
      await adapter.close();
    }
    if (status !== record.status) {
      await this.deps.store.setStatus(record.id, status);
      const fields = { registryId: record.id, registry: record.name, status };
      if (failure) this.deps.log.warn({ ...fields, kind: failure.kind, reason: failure.message }, "registry unhealthy");
      else this.deps.log.info(fields, "registry healthy");
    }
    return status;
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error("shutting down"));
    clearTimeout(this.timer);
    await Promise.allSettled([this.pass, ...this.single]);
  }

  private async checkAll(): Promise<void> {
    try {
      const queue: RegistryRecord[] = [];
      for (let offset = 0; offset < MAX_ENDPOINTS; offset += PAGE) {
        const page = await this.deps.store.list({}, { offset, limit: PAGE });
        queue.push(...page.items);
        if (offset + PAGE >= page.total) break;
      }
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next && !this.abort.signal.aborted; next = queue.shift()) {
          await this.check(next).catch((err: unknown) =>
            this.deps.log.error({ err, registryId: next?.id }, "registry health check failed"),
          );
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } catch (err) {
      this.deps.log.error({ err }, "registry health checks failed");
    }
  }
}
