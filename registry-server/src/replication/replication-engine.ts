// The replication engine's parts, built in one place for the composition root: this registry as
// an endpoint, the job handler of REPLICATION executions and the event trigger. What the engine
// does not own comes in: the policies (their store and API), the remote endpoints (the upstream
// adapters), the job system and the event bus.

import type { BlobStore } from "../content/blob-store.ts";
import type { ManifestService } from "../content/manifest-service.ts";
import type { UploadService } from "../content/upload-service.ts";
import type { RegistryEvents } from "../events/registry-events.ts";
import type { JobHandler, JobService } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { LocalEndpoint } from "./local-endpoint.ts";
import type { ReplicationDestination, ReplicationSource } from "./replication-endpoint.ts";
import { replicationJob } from "./replication-job.ts";
import type { ReplicationPolicy } from "./replication-policy.ts";
import { ReplicationTrigger } from "./replication-trigger.ts";

export interface ReplicationEngineDeps {
  readonly store: MetadataStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadService;
  /** Wired to the bus: what a replication writes or deletes here is published (local-endpoint.ts). */
  readonly manifests: ManifestService;
  /** The bus: the trigger listens to it, tasks' ends are published on it. */
  readonly events: RegistryEvents;
  readonly jobs: Pick<JobService, "enqueue">;
  readonly log: Logger;
  /** The administrator's name: the owner of projects a pull replication creates. */
  readonly projectOwner: string;
  /** A policy as stored now; undefined once deleted. */
  policy(id: number): Promise<ReplicationPolicy | undefined>;
  /** The enabled policies, for the event trigger. */
  enabledPolicies(): Promise<readonly ReplicationPolicy[]>;
  /** The registry endpoint `registryId` playing either role. */
  remote(
    registryId: number,
  ): (ReplicationSource & ReplicationDestination) | Promise<ReplicationSource & ReplicationDestination>;
  /** This registry's address, as REPLICATION events name it. */
  localUrl(): string;
}

export interface ReplicationEngine {
  readonly local: LocalEndpoint;
  /** To register with the job system. */
  readonly handler: JobHandler;
  /** To start once the job system runs, and stop before it stops. */
  readonly trigger: ReplicationTrigger;
}

export function createReplicationEngine(deps: ReplicationEngineDeps): ReplicationEngine {
  const local = new LocalEndpoint({
    store: deps.store,
    blobs: deps.blobs,
    uploads: deps.uploads,
    manifests: deps.manifests,
    projectOwner: deps.projectOwner,
  });
  const handler = replicationJob({
    policy: (id) => deps.policy(id),
    remote: (id) => deps.remote(id),
    local,
    store: deps.store,
    events: deps.events,
    localUrl: () => deps.localUrl(),
  });
  const trigger = new ReplicationTrigger({
    events: deps.events,
    jobs: deps.jobs,
    enabledPolicies: () => deps.enabledPolicies(),
    store: deps.store,
    log: deps.log,
  });
  return { local, handler, trigger };
}
