// A replication policy as the registry keeps it: Harbor's ReplicationPolicy (swagger
// `ReplicationPolicy`, handler src/server/v2.0/handler/replication.go) without its wire spelling.
// Exactly one side is another registry (an endpoint of `/api/v2.0/registries`); the other side is
// this registry. The store, the API, the triggers and the transfer all speak this type.

/** Harbor's trigger types. */
export const REPLICATION_TRIGGER_TYPES = ["manual", "scheduled", "event_based"] as const;
export type ReplicationTriggerType = (typeof REPLICATION_TRIGGER_TYPES)[number];

export interface ReplicationTrigger {
  readonly type: ReplicationTriggerType;
  /** Six-field cron (seconds first), for "scheduled" only. */
  readonly cron?: string;
}

/** "matches" keeps what the filter selects, "excludes" keeps the rest (tag and label filters). */
export type FilterDecoration = "matches" | "excludes";

/** Harbor's filter types, each with the value it takes. */
export type ReplicationFilter =
  /** A doublestar pattern over the full repository name ("production/**"). */
  | { readonly type: "name"; readonly value: string }
  /** A doublestar pattern over tags ("v*"). */
  | { readonly type: "tag"; readonly value: string; readonly decoration: FilterDecoration }
  /** Label names an artifact must carry (all of them) or must not. */
  | { readonly type: "label"; readonly value: readonly string[]; readonly decoration: FilterDecoration }
  /** Harbor's resource types: "image" (container images and their indexes) or "artifact" (any). */
  | { readonly type: "resource"; readonly value: string };

export interface ReplicationPolicy {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  /** Who created it (Harbor's `creator`, shown in REPLICATION webhook payloads). */
  readonly creator: string;
  /** The registry endpoint replicated from; absent when this registry is the source (push). */
  readonly srcRegistryId?: number;
  /** The registry endpoint replicated to; absent when this registry is the destination (pull). */
  readonly destRegistryId?: number;
  /** The namespace on the destination; "" keeps the source's. */
  readonly destNamespace: string;
  /**
   * How many leading components of the source repository `destNamespace` replaces: -1 is
   * Harbor's legacy mode, 0 prefixes the whole name, N replaces the first N components.
   */
  readonly destNamespaceReplaceCount: number;
  readonly trigger: ReplicationTrigger;
  readonly filters: readonly ReplicationFilter[];
  /** Deletions on the source (event-based) delete on the destination too. */
  readonly replicateDeletion: boolean;
  /** An artifact that exists on the destination under the same tag is replaced. */
  readonly override: boolean;
  readonly enabled: boolean;
  /** Bandwidth per task in KB/s; 0 or -1 is unlimited (Harbor's `speed`). */
  readonly speedKbps: number;
  /** Blobs sent in chunks (PATCH) rather than in one request. */
  readonly copyByChunk: boolean;
  /** A trigger that finds an execution of this policy under way is skipped. */
  readonly singleActiveReplication: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The job system's vendor type of replication executions (vendor id: the policy's id). */
export const REPLICATION_VENDOR = "REPLICATION";

/**
 * What an event-based execution is about: the one artifact pushed, or the deletion, that fired
 * it. Manual and scheduled executions carry none and replicate everything the filters select.
 */
export interface ReplicationEventParameters {
  readonly kind: "push" | "delete_artifact" | "delete_tag";
  /** The repository on this registry. */
  readonly repository: string;
  readonly digest: string;
  /** Tags pushed with it or deleted with it; the one tag for "delete_tag". */
  readonly tags: readonly string[];
}

/** The parameters of a REPLICATION execution. */
export interface ReplicationParameters {
  readonly event?: ReplicationEventParameters;
}
