// Everything the server needs to talk to upstream registries, built once from the configuration:
// the adapter factory with the egress settings (and, for replication, the connections that add
// an endpoint's writer and listings to its adapter), the endpoints (secrets sealed with the
// server's secret box) and the health checks of the endpoints (run as jobs: the composition root
// registers and schedules them). The composition root wires these into the API and the proxy.

import type { SecretBox } from "../auth/secret-box.ts";
import type { ServerConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { EndpointHealth } from "./endpoint-health.ts";
import { RegistryEndpoints } from "./registry-endpoints.ts";
import { createUpstreamConnections, type UpstreamConnectionFactory } from "./upstream-factory.ts";
import type { EgressSettings, UpstreamFactory } from "./upstream-registry.ts";

export interface Upstreams {
  readonly egress: EgressSettings;
  readonly factory: UpstreamFactory;
  /** Reads, writes and listings of an endpoint over one set of connections (replication). */
  readonly connections: UpstreamConnectionFactory;
  readonly endpoints: RegistryEndpoints;
  readonly health: EndpointHealth;
  /** Bound on a ping from the API: a few requests (challenge, token, retry) at the egress timeout. */
  readonly pingTimeoutMs: number;
}

/** `box` seals the endpoints' credentials: the server's one secret box (dataDir/auth/). */
export function openUpstreams(config: ServerConfig, metadata: MetadataStore, box: SecretBox, log: Logger): Upstreams {
  const { httpProxy, httpsProxy, noProxy, timeoutMs } = config.upstream;
  const egress: EgressSettings = {
    ...(httpProxy !== undefined && { httpProxy }),
    ...(httpsProxy !== undefined && { httpsProxy }),
    ...(noProxy !== undefined && { noProxy }),
    timeoutMs,
  };
  const connections = createUpstreamConnections(egress);
  const factory: UpstreamFactory = (endpoint) => connections(endpoint).registry;
  const endpoints = new RegistryEndpoints(metadata.registries, box);
  const health = new EndpointHealth({
    store: metadata.registries,
    endpoints,
    factory,
    log: log.child({ component: "registry-health" }),
  });
  return { egress, factory, connections, endpoints, health, pingTimeoutMs: timeoutMs * 3 };
}
