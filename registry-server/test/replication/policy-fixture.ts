// Replication policies for the tests: every field at Harbor's default, the ones a test cares
// about given.

import type { ReplicationPolicy } from "../../src/replication/replication-policy.ts";

export function policyOf(fields: Partial<ReplicationPolicy> = {}): ReplicationPolicy {
  const at = new Date("2026-01-01T00:00:00Z");
  return {
    id: 1,
    name: "to-dr-site",
    description: "",
    creator: "admin",
    destRegistryId: 7,
    destNamespace: "",
    destNamespaceReplaceCount: -1,
    trigger: { type: "manual" },
    filters: [],
    replicateDeletion: false,
    override: true,
    enabled: true,
    speedKbps: -1,
    copyByChunk: false,
    singleActiveReplication: false,
    createdAt: at,
    updatedAt: at,
    ...fields,
  };
}
