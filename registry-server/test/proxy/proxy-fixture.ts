// A proxy cache in front of a real upstream for the proxy tests: two in-process registries on
// loopback, the upstream behind its Docker token authentication, the proxy with a registry
// endpoint and a public proxy-cache project pointing at it, created through the Harbor API.

import { expect } from "vitest";
import { HarborClient, idFromLocation } from "../api/harbor-client.ts";
import { OCI_INDEX, OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";
import type { ServerConfig } from "../../src/config.ts";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";

export interface ProxyFixture {
  upstream: TestRegistry;
  proxy: TestRegistry;
  /** Pushes to the upstream as its administrator. */
  upstreamClient: OciClient;
  /** Pulls from the proxy anonymously (the proxy project is public). */
  client: OciClient;
  api: HarborClient;
  /** The proxy project's name: pull `<project>/<upstream repository>`. */
  project: string;
  stop(): Promise<void>;
}

export async function startProxyFixture(
  options: { project?: string; metadata?: Record<string, string>; proxyConfig?: Partial<ServerConfig> } = {},
): Promise<ProxyFixture> {
  const upstream = await startTestRegistry();
  const proxy = await startTestRegistry(options.proxyConfig);
  const api = new HarborClient(proxy.url);
  const project = options.project ?? "hub";
  const endpoint = await api.call("POST", "/registries", {
    body: {
      name: `upstream-${project}`,
      type: "docker-registry",
      url: upstream.url,
      credential: { type: "basic", access_key: ADMIN.username, access_secret: ADMIN.password },
      insecure: false,
    },
  });
  expect(endpoint.status, endpoint.text).toBe(201);
  const registryId = idFromLocation(endpoint, "/api/v2.0/registries/");
  const created = await api.call("POST", "/projects", {
    body: { project_name: project, registry_id: registryId, metadata: { public: "true", ...options.metadata } },
  });
  expect(created.status, created.text).toBe(201);
  return {
    upstream,
    proxy,
    upstreamClient: new OciClient(upstream.url),
    client: new OciClient(proxy.url, null),
    api,
    project,
    stop: async () => {
      await proxy.stop();
      await upstream.stop().catch(() => {});
    },
  };
}

/**
 * Requests a registry served (2xx), by method and route, read from its own /metrics. Challenges
 * (401) are left out: they are the token flow's, not content served.
 */
export async function requestCounts(registry: TestRegistry): Promise<Map<string, number>> {
  const text = await (await fetch(`${registry.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^airlock_http_requests_total\{method="(\w+)",route="(\w+)",status="2\d\d"\} (\d+)/.exec(line);
    if (!match) continue;
    const key = `${match[1]} ${match[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[3]));
  }
  return counts;
}

/** How many of each request the upstream answered between two readings. */
export function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change > 0) result[key] = change;
  }
  return result;
}

/** A metric's value from a registry's /metrics, summed over the series matching `labels`. */
export async function metricValue(
  registry: TestRegistry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${registry.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** An OCI index of two platforms' images, in `platforms` order, as an index entry lists them. */
export function twoPlatformIndex(
  amd64: { digest: string; bytes: Buffer },
  arm64: { digest: string; bytes: Buffer },
): { schemaVersion: 2; mediaType: string; manifests: Array<Record<string, unknown>> } {
  const entry = (image: { digest: string; bytes: Buffer }, architecture: string) => ({
    mediaType: OCI_MANIFEST,
    digest: image.digest,
    size: image.bytes.length,
    platform: { os: "linux", architecture },
  });
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry(amd64, "amd64"), entry(arm64, "arm64")] };
}
