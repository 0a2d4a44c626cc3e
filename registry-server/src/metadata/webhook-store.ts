// The webhooks area of the metadata store: Harbor's webhook policies (`/projects/{p}/webhook/
// policies`, its notification_policy table), each a project's list of targets told of the event
// types it subscribes to, and the last time each (policy, event type) was triggered (Harbor's
// `lasttrigger`). The deliveries themselves are executions of the job system (vendor types
// WEBHOOK and SLACK, vendor id the policy's), not rows of this area.
//
// Names are unique within a project (ConflictError otherwise); ids are never reused. A target's
// auth header is kept as the caller hands it over, sealed (auth/secret-box.ts): it is sent to the
// receiver with every delivery, so it cannot be hashed, and a database dump must not reveal it.
// A policy goes with its project, and its trigger times with it.
//
// Every backend runs the shared contract suite in test/contracts/webhook-store-contract.ts.

import type { SortKey, TextMatch } from "./artifact-store.ts";
import type { Listing, Window } from "./identity-store.ts";

export interface WebhookTargetRecord {
  /** Harbor's notify type: "http" or "slack". */
  readonly type: string;
  readonly address: string;
  /** The `Authorization` value sent with each delivery, sealed; absent when there is none. */
  readonly sealedAuthHeader?: string;
  readonly skipCertVerify: boolean;
  /** "Default" or "CloudEvents" for http; "" for slack, which has one format. */
  readonly payloadFormat: string;
}

export interface WebhookPolicyRecord {
  readonly id: number;
  readonly projectId: number;
  readonly name: string;
  readonly description: string;
  readonly targets: readonly WebhookTargetRecord[];
  /** Harbor's event types ("PUSH_ARTIFACT"…), in the order given. */
  readonly eventTypes: readonly string[];
  /** Who created it (a user or robot name). */
  readonly creator: string;
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewWebhookPolicy = Omit<WebhookPolicyRecord, "id" | "createdAt" | "updatedAt">;

/** What a PUT changes; the project, the creator and the creation time stay. */
export type WebhookPolicyChanges = Partial<
  Pick<WebhookPolicyRecord, "name" | "description" | "targets" | "eventTypes" | "enabled">
>;

/** Harbor's sort keys for policies (`sort=-creation_time`…). */
export type WebhookPolicySortKey = "id" | "name" | "creation_time" | "update_time";

export interface WebhookPolicyFilter {
  readonly projectId: number;
  readonly name?: TextMatch;
  readonly description?: TextMatch;
  readonly creator?: TextMatch;
  readonly enabled?: boolean;
  /** Newest first when absent (Harbor's default). */
  readonly sort?: readonly SortKey<WebhookPolicySortKey>[];
}

/** When a policy was last triggered for one event type. */
export interface WebhookTriggerRecord {
  readonly policyId: number;
  readonly eventType: string;
  readonly triggeredAt: Date;
}

export interface WebhookMetadata {
  /** ConflictError when the project has a policy of that name. */
  create(policy: NewWebhookPolicy, at: Date): Promise<WebhookPolicyRecord>;
  get(id: number): Promise<WebhookPolicyRecord | undefined>;
  list(filter: WebhookPolicyFilter, window: Window): Promise<Listing<WebhookPolicyRecord>>;
  /** Undefined when there is no such policy; ConflictError when the new name is taken in its project. */
  update(id: number, changes: WebhookPolicyChanges, at: Date): Promise<WebhookPolicyRecord | undefined>;
  /** False when there was none; its trigger times go with it. */
  delete(id: number): Promise<boolean>;
  /**
   * Records that the policy was triggered for `eventType` at `at`; an earlier time never
   * replaces a later one. Nothing is recorded for a policy that no longer exists.
   */
  recordTrigger(policyId: number, eventType: string, at: Date): Promise<void>;
  /** The trigger times of the project's policies. */
  lastTriggers(projectId: number): Promise<WebhookTriggerRecord[]>;
}
