// Webhook policies as the API and the deliveries use them (Harbor's webhook controller): the
// store's records with each target's auth header sealed on the way in and opened on the way out,
// the policy's deliveries deleted with it (Harbor's DeleteByVendor of WEBHOOK and SLACK
// executions), and a signal to this process's dispatcher that its cached view is stale.
//
// Harbor returns the auth header in clear to whoever may read the policy (its project
// administrators); it is sealed at rest and never logged.

import type { SecretBox } from "../auth/secret-box.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { WebhookPolicyRecord, WebhookTargetRecord } from "../metadata/webhook-store.ts";
import type { WebhookPolicyInput, WebhookTarget } from "./webhook-policy.ts";

/** Additional authenticated data of sealed auth headers: they open for this use only. */
const AUTH_HEADER_PURPOSE = "webhook-auth-header";

/** The job system's vendor types of deliveries, as Harbor's task framework names them. */
export const WEBHOOK_VENDOR = "WEBHOOK";
export const SLACK_VENDOR = "SLACK";
export const DELIVERY_VENDORS = [WEBHOOK_VENDOR, SLACK_VENDOR] as const;

export interface WebhookPoliciesDeps {
  readonly store: Pick<MetadataStore, "webhookPolicies" | "jobs">;
  readonly box: SecretBox;
  readonly now?: () => number;
}

export class WebhookPolicies {
  private readonly deps: WebhookPoliciesDeps;
  private readonly now: () => number;
  private readonly listeners = new Set<(projectId: number) => void>();

  constructor(deps: WebhookPoliciesDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** Tells `listener` the id of each project whose policies change. */
  onChange(listener: (projectId: number) => void): void {
    this.listeners.add(listener);
  }

  /** ConflictError when the project has a policy of that name. */
  async create(project: ProjectRecord, input: WebhookPolicyInput, creator: string): Promise<WebhookPolicyRecord> {
    const record = await this.deps.store.webhookPolicies.create(
      {
        projectId: project.id,
        name: input.name,
        description: input.description,
        targets: input.targets.map((target) => this.sealed(target)),
        eventTypes: input.eventTypes,
        creator,
        enabled: input.enabled,
      },
      new Date(this.now()),
    );
    this.changed(project.id);
    return record;
  }

  /** Replaces the policy's fields (Harbor's PUT); undefined when it is gone. ConflictError on a taken name. */
  async update(record: WebhookPolicyRecord, input: WebhookPolicyInput): Promise<WebhookPolicyRecord | undefined> {
    const updated = await this.deps.store.webhookPolicies.update(
      record.id,
      {
        name: input.name,
        description: input.description,
        targets: input.targets.map((target) => this.sealed(target)),
        eventTypes: input.eventTypes,
        enabled: input.enabled,
      },
      new Date(this.now()),
    );
    this.changed(record.projectId);
    return updated;
  }

  /** Deletes the policy and its ended deliveries; false when it was gone. */
  async delete(record: WebhookPolicyRecord): Promise<boolean> {
    const deleted = await this.deps.store.webhookPolicies.delete(record.id);
    for (const vendor of DELIVERY_VENDORS) await this.deps.store.jobs.pruneExecutions(vendor, record.id, 0);
    this.changed(record.projectId);
    return deleted;
  }

  /** The policy's targets with their auth headers in clear. */
  targets(record: WebhookPolicyRecord): WebhookTarget[] {
    return record.targets.map((target) => ({
      type: target.type === "slack" ? "slack" : "http",
      address: target.address,
      authHeader: this.authHeader(target),
      skipCertVerify: target.skipCertVerify,
      payloadFormat: target.payloadFormat,
    }));
  }

  /** A target's auth header in clear, "" when it has none. */
  authHeader(target: Pick<WebhookTargetRecord, "sealedAuthHeader">): string {
    return target.sealedAuthHeader === undefined
      ? ""
      : this.deps.box.open(target.sealedAuthHeader, AUTH_HEADER_PURPOSE);
  }

  private sealed(target: WebhookTarget): WebhookTargetRecord {
    return {
      type: target.type,
      address: target.address,
      ...(target.authHeader !== "" && { sealedAuthHeader: this.deps.box.seal(target.authHeader, AUTH_HEADER_PURPOSE) }),
      skipCertVerify: target.skipCertVerify,
      payloadFormat: target.payloadFormat,
    };
  }

  private changed(projectId: number): void {
    for (const listener of this.listeners) listener(projectId);
  }
}
