// Endpoint health, Harbor's registry `status`: every endpoint is pinged periodically and marked
// "healthy" or "unhealthy"; a change is logged with the failure's kind, so that an operator sees
// an upstream going down before users do. Pings run a few at a time, each bounded by the egress
// timeout. The passes are jobs of the job system (a schedule, and one execution for an endpoint
// just created or changed), so that several workers and replicas ping each endpoint once, not
// once each.

import type { JobHandler } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { RegistryMetadata, RegistryRecord } from "../metadata/registry-store.ts";
import type { RegistryEndpoints } from "./registry-endpoints.ts";
import { UpstreamError, type UpstreamFactory } from "./upstream-registry.ts";

export const REGISTRY_HEALTH_VENDOR = "REGISTRY_HEALTH";
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

/** The schedule of the passes: Harbor's six-field cron cannot say "every N seconds", @every can. */
export function healthCron(intervalMs: number): string {
  return `@every ${Math.max(1, Math.round(intervalMs / 1000))}s`;
}

export class EndpointHealth {
  private readonly deps: EndpointHealthDeps;

  constructor(deps: EndpointHealthDeps) {
    this.deps = deps;
  }

  /** Pings the endpoint, records its status when it changed, and returns it. */
  async check(record: RegistryRecord, signal: AbortSignal): Promise<HealthStatus> {
    const adapter = this.deps.factory(this.deps.endpoints.toEndpoint(record));
    let status: HealthStatus = "healthy";
    let failure: UpstreamError | undefined;
    try {
      await adapter.ping(signal);
    } catch (err) {
      if (signal.aborted) return record.status === "healthy" ? "healthy" : "unhealthy";
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

  /** Pings every endpoint, a few at a time; returns how many are healthy and unhealthy. */
  async checkAll(signal: AbortSignal): Promise<{ healthy: number; unhealthy: number }> {
    const queue: RegistryRecord[] = [];
    for (let offset = 0; offset < MAX_ENDPOINTS; offset += PAGE) {
      const page = await this.deps.store.list({}, { offset, limit: PAGE });
      queue.push(...page.items);
      if (offset + PAGE >= page.total) break;
    }
    const counts = { healthy: 0, unhealthy: 0 };
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next && !signal.aborted; next = queue.shift()) {
        try {
          counts[await this.check(next, signal)] += 1;
        } catch (err) {
          this.deps.log.error({ err, registryId: next.id }, "registry health check failed");
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return counts;
  }
}

/**
 * The passes as a job: every endpoint, or the one of `registry_id` (queued when an endpoint was
 * created or changed, so that its status is known at once).
 */
export function endpointHealthJob(health: EndpointHealth, store: RegistryMetadata): JobHandler {
  return {
    vendorType: REGISTRY_HEALTH_VENDOR,
    keepExecutions: 20,
    async run(context) {
      const id = Number(context.execution.parameters["registry_id"]);
      if (Number.isInteger(id) && id > 0) {
        const record = await store.get(id);
        if (!record) return { checked: 0 };
        const status = await health.check(record, context.signal);
        context.log(`[INFO] registry ${record.name}: ${status}`);
        return { checked: 1, [status]: 1 };
      }
      const counts = await health.checkAll(context.signal);
      context.log(`[INFO] ${counts.healthy} healthy, ${counts.unhealthy} unhealthy`);
      return { checked: counts.healthy + counts.unhealthy, ...counts };
    },
  };
}
