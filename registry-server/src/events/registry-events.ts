// What happens in the registry that other parts react to: webhooks tell outside systems,
// event-based replication copies a push or a deletion to another site. Harbor's event types,
// with what their payloads need; one bus per process, built in the composition root.
//
// Contract for publishers: publish after the change has committed, with the caller's name as the
// operator ("" when anonymous), and never wait for the listeners. Contract for listeners: return
// at once (queue durable work, e.g. a job execution in the database, without awaiting it on the
// publisher's path) and never throw; a listener that does is logged and the others still run.
// A slow receiver therefore never slows a push or a pull: the bus only hands the event over.
//
// The bus lives in one process: each worker and replica publishes what it served, and listeners
// make the work durable and run-once through the job system.

import type { Logger } from "../logger.ts";

/** An artifact as events name it: where it is, what it is. */
export interface EventArtifact {
  /** Full repository name, "project/name". */
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  /** The manifest's size in bytes (Harbor's payloads give the manifest's, not the image's). */
  readonly size: number;
  /** Tags that pointed at it when the event happened (pushed with it, pulled by, deleted with). */
  readonly tags: readonly string[];
}

interface EventBase {
  readonly occurredAt: Date;
  /** Who caused it: a user or robot name; "" for anonymous or the registry itself. */
  readonly operator: string;
}

/** A client pushed a manifest (a tag or a digest), or an air-gap import stored one. */
export interface ArtifactPushed extends EventBase {
  readonly type: "PUSH_ARTIFACT";
  readonly artifact: EventArtifact;
}

/** A client pulled a manifest (a GET: a HEAD is not a pull, as Harbor counts them). */
export interface ArtifactPulled extends EventBase {
  readonly type: "PULL_ARTIFACT";
  readonly artifact: EventArtifact;
}

/** An artifact was deleted (through `/v2`, the API, a repository's deletion or retention). */
export interface ArtifactDeleted extends EventBase {
  readonly type: "DELETE_ARTIFACT";
  readonly artifact: EventArtifact;
}

/** A tag was deleted and the artifact it named stays (replication's deletion trigger). */
export interface TagDeleted extends EventBase {
  readonly type: "DELETE_TAG";
  readonly repository: string;
  readonly tag: string;
  /** The artifact the tag named. */
  readonly digest: string;
}

/** A push was refused for the project's quota, or brought its usage past the warning level. */
export interface QuotaEvent extends EventBase {
  readonly type: "QUOTA_EXCEED" | "QUOTA_WARNING";
  readonly projectName: string;
  readonly repository: string;
  /** The blob or manifest being pushed, when known. */
  readonly digest?: string;
  /** Harbor's message, e.g. "adding 1.2 MiB of storage resource, which when updated to current usage of …". */
  readonly details: string;
}

/** A scan of an artifact ended. */
export interface ScanEvent extends EventBase {
  readonly type: "SCANNING_COMPLETED" | "SCANNING_FAILED" | "SCANNING_STOPPED";
  readonly artifact: EventArtifact;
  /** The scan's execution (the job system's id). */
  readonly executionId: number;
  /** Harbor's scan_overview for the artifact at the end of the scan, keyed by report MIME type. */
  readonly scanOverview?: Readonly<Record<string, unknown>>;
}

/** One side of a replication, as Harbor's payload describes it. */
export interface ReplicationSide {
  readonly registryName: string;
  /** Harbor's registry type ("harbor", "docker-registry", …); "harbor" for this registry itself. */
  readonly registryType: string;
  readonly endpoint: string;
  /** The repository's namespace on that side (its project). */
  readonly namespace: string;
}

/** A replication task ended: one artifact copied (or deleted) to or from another registry. */
export interface ReplicationEvent extends EventBase {
  readonly type: "REPLICATION";
  readonly policyId: number;
  readonly policyName: string;
  readonly policyCreator: string;
  readonly executionId: number;
  /** Harbor's trigger names: "manual", "scheduled", "event_based". */
  readonly trigger: string;
  readonly override: boolean;
  readonly startedAt: Date;
  readonly source: ReplicationSide;
  readonly destination: ReplicationSide;
  /** The artifact: its type ("image", "artifact"), "repository:tag" and how the task ended. */
  readonly artifact: { readonly type: string; readonly nameTag: string; readonly status: "Success" | "Failed" };
}

/** A retention run (not a dry run) ended in a project. */
export interface RetentionEvent extends EventBase {
  readonly type: "TAG_RETENTION";
  readonly projectId: number;
  readonly projectName: string;
  readonly policyId: number;
  readonly executionId: number;
  readonly status: string;
  /** Artifacts looked at and kept. */
  readonly total: number;
  readonly retained: number;
  readonly deleted: ReadonlyArray<{
    readonly repository: string;
    readonly digest: string;
    readonly tags: readonly string[];
  }>;
}

export type RegistryEvent =
  | ArtifactPushed
  | ArtifactPulled
  | ArtifactDeleted
  | TagDeleted
  | QuotaEvent
  | ScanEvent
  | ReplicationEvent
  | RetentionEvent;

export type RegistryEventType = RegistryEvent["type"];

export type RegistryEventListener = (event: RegistryEvent) => void;

/** What publishers see: they hand events over and go on. */
export interface EventPublisher {
  publish(event: RegistryEvent): void;
}

export class RegistryEvents implements EventPublisher {
  private readonly listeners = new Set<RegistryEventListener>();
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log.child({ component: "events" });
  }

  /** Adds a listener; returns what removes it. */
  subscribe(listener: RegistryEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: RegistryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err, event: event.type }, "an event listener failed");
      }
    }
  }
}

/** Publishes nothing: for parts built without a bus (tests, tools). */
export const NO_EVENTS: EventPublisher = { publish: () => undefined };
