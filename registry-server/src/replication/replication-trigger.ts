// Event-based replication: for each push (with tags) and deletion on this registry, an execution
// of every enabled event-based policy whose source is this registry and whose filters select it
// (deletions only for policies that replicate them), as Harbor's replication event handler does
// (src/controller/event/handler/replication).
//
// The listener returns at once: the work (reading the policies, queueing executions in the
// database) happens after, and its failures are logged, never thrown at the publisher. An
// accessory pushed on its own (cosign's `sha256-<hex>.sig` tag, a referrer pushed by digest) stands
// for the artifact it belongs to: that artifact's replication is queued, which copies the new
// accessory and finds the rest already there.
//
// The policies are read through `enabledPolicies` and kept `cacheMs` (5 s): a burst of pushes
// reads them once, and a policy created or changed applies to events at most that much later
// (`invalidate` makes it at once, for the policy API to call).

import type { RegistryEvent, RegistryEvents } from "../events/registry-events.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { eventParameters, harborTypeOfMediaType, replicationFor } from "./replication-filters.ts";
import { REPLICATION_VENDOR, type ReplicationEventParameters, type ReplicationPolicy } from "./replication-policy.ts";
import { isAccessoryTag } from "./source-artifacts.ts";

export const DEFAULT_POLICY_CACHE_MS = 5_000;

export interface ReplicationTriggerDeps {
  readonly events: Pick<RegistryEvents, "subscribe">;
  readonly jobs: Pick<JobService, "enqueue">;
  /** The enabled policies (the store filters or not: disabled ones are ignored here too). */
  readonly enabledPolicies: () => Promise<readonly ReplicationPolicy[]>;
  /** Where an accessory's artifact and its tags are looked up. */
  readonly store: Pick<MetadataStore, "manifests" | "tags">;
  readonly log: Logger;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export class ReplicationTrigger {
  private readonly deps: ReplicationTriggerDeps;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  private unsubscribe: (() => void) | undefined;
  private policies: { readonly at: number; readonly list: Promise<readonly ReplicationPolicy[]> } | undefined;

  constructor(deps: ReplicationTriggerDeps) {
    this.deps = deps;
    this.log = deps.log.child({ component: "replication-trigger" });
  }

  start(): void {
    this.unsubscribe ??= this.deps.events.subscribe((event) => this.heard(event));
  }

  /** Stops listening; resolves once what was heard has been queued. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.settled();
  }

  /** Resolves once every event heard so far has been dealt with. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Forgets the policies read: the next event reads them again. */
  invalidate(): void {
    this.policies = undefined;
  }

  private heard(event: RegistryEvent): void {
    if (event.type !== "PUSH_ARTIFACT" && event.type !== "DELETE_ARTIFACT" && event.type !== "DELETE_TAG") return;
    const work = this.handle(event)
      .catch((err: unknown) => this.log.warn({ err, event: event.type }, "could not queue event-based replication"))
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async handle(event: RegistryEvent): Promise<void> {
    const heard = eventParameters(event);
    if (!heard) return;
    const wanted = heard.kind === "push" ? await this.pushedArtifact(heard) : heard;
    if (!wanted) return;
    // An accessory's event tells nothing of its artifact's type: the task checks it.
    const told = event.type === "PUSH_ARTIFACT" || event.type === "DELETE_ARTIFACT" ? event.artifact.mediaType : "";
    const type = harborTypeOfMediaType(wanted === heard ? told : "");
    for (const policy of await this.currentPolicies()) {
      const replication = replicationFor(policy, wanted, type);
      if (!replication) continue;
      const execution = await this.deps.jobs.enqueue(
        REPLICATION_VENDOR,
        { event: replication, operator: event.operator },
        "EVENT",
        policy.id,
      );
      this.log.info(
        { policy: policy.id, execution: execution.id, repository: replication.repository, kind: replication.kind },
        "event-based replication queued",
      );
    }
  }

  /**
   * The artifact a push is about: itself when tagged, the artifact it belongs to (with that one's
   * tags) when it is an accessory; undefined when neither (an index's child, an untagged push).
   */
  private async pushedArtifact(pushed: ReplicationEventParameters): Promise<ReplicationEventParameters | undefined> {
    const { store } = this.deps;
    const cosign = pushed.tags.map((tag) => /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/.exec(tag)?.[1]).find(Boolean);
    let subject = cosign === undefined ? undefined : `sha256:${cosign}`;
    if (subject === undefined && pushed.tags.length > 0) return pushed;
    subject ??= (await store.manifests.get(pushed.repository, pushed.digest))?.subject;
    if (subject === undefined) return undefined;
    const tags = (await store.tags.forDigest(pushed.repository, subject)).filter((tag) => !isAccessoryTag(tag));
    return tags.length === 0 ? undefined : { kind: "push", repository: pushed.repository, digest: subject, tags };
  }

  private currentPolicies(): Promise<readonly ReplicationPolicy[]> {
    const now = (this.deps.now ?? Date.now)();
    const cacheMs = this.deps.cacheMs ?? DEFAULT_POLICY_CACHE_MS;
    if (!this.policies || now - this.policies.at >= cacheMs) {
      const list = this.deps.enabledPolicies();
      this.policies = { at: now, list };
      // A failed read is not kept: the next event tries again.
      list.catch(() => {
        if (this.policies?.list === list) this.policies = undefined;
      });
    }
    return this.policies.list;
  }
}
