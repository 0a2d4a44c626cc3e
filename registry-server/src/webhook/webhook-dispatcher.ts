// The bus listener that turns events into webhook deliveries (Harbor's webhook event handlers and
// hook manager): for an event of one of Harbor's webhook types in a project, it finds the
// project's enabled policies subscribed to the type, writes the payload of each target in its
// format (payload-default.ts, payload-cloudevents.ts, payload-slack.ts) and queues, per policy and
// kind of target, one execution of the job system (WEBHOOK for http, SLACK for slack, vendor id the
// policy's) together with the policy's last trigger time, in one transaction. webhook-job.ts sends.
//
// Nothing of this runs on the publisher's path: `listener` starts the work and returns, so a push
// or a pull never waits for a database query of this module, let alone for a receiver. At most
// MAX_PENDING events wait at once (a burst while the database is slow); beyond, events are
// dropped and counted in the log rather than held in memory without bound. Nothing is queued
// while the system setting notification_enable is off (Harbor's SendHookWithPolicies).
//
// A project's enabled policies are cached for CACHE_MS (pulls are frequent, policies rarely
// change): a change made through this process is seen at once (WebhookPolicies.onChange), one
// made through another replica within CACHE_MS.

import { randomUUID } from "node:crypto";
import type { RegistryEvent } from "../events/registry-events.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { WebhookPolicyRecord } from "../metadata/webhook-store.ts";
import {
  eventProject,
  eventRepository,
  harborPayload,
  isWebhookEvent,
  type HarborPayload,
  type PayloadContext,
  type WebhookEvent,
} from "./event-payload.ts";
import { formatCloudEvents } from "./payload-cloudevents.ts";
import { formatDefault } from "./payload-default.ts";
import type { FormattedPayload } from "./payload-format.ts";
import { formatSlack } from "./payload-slack.ts";
import type { DeliveryParameters, DeliveryTarget } from "./webhook-job.ts";
import { SLACK_VENDOR, WEBHOOK_VENDOR } from "./webhook-policies.ts";

/** How long a project's policies are trusted before they are read again. */
export const CACHE_MS = 10_000;
/** Events waiting to be dispatched at most; more are dropped. */
const MAX_PENDING = 10_000;

export interface WebhookDispatcherDeps {
  readonly store: Pick<MetadataStore, "transaction" | "projects" | "webhookPolicies" | "artifacts" | "retentions">;
  readonly jobs: Pick<JobService, "wake">;
  /** Harbor's notification_enable system setting. */
  readonly enabled: () => Promise<boolean>;
  /** The registry as clients reach it: `host[:port]` and the URL with its scheme. */
  readonly registry: () => { host: string; endpoint: string };
  readonly log: Logger;
  readonly now?: () => number;
}

interface CachedProject {
  readonly at: number;
  readonly policies: Promise<WebhookPolicyRecord[]>;
}

export class WebhookDispatcher {
  private readonly deps: WebhookDispatcherDeps;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly cache = new Map<number, CachedProject>();
  private readonly pending = new Set<Promise<void>>();
  private dropped = 0;

  constructor(deps: WebhookDispatcherDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.log = deps.log.child({ component: "webhooks" });
  }

  /** The bus listener: returns at once. */
  readonly listener = (event: RegistryEvent): void => {
    if (!isWebhookEvent(event)) return;
    if (this.pending.size >= MAX_PENDING) {
      if (this.dropped++ % 1_000 === 0) {
        this.log.warn({ dropped: this.dropped, event: event.type }, "too many webhook events waiting: events dropped");
      }
      return;
    }
    const work = this.dispatch(event)
      .catch((err: unknown) => this.log.warn({ err, event: event.type }, "could not queue webhook deliveries"))
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  };

  /** Forgets the cached policies of a project (they changed). */
  invalidate(projectId: number): void {
    this.cache.delete(projectId);
  }

  /** Waits for the events received so far to be queued (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async dispatch(event: WebhookEvent): Promise<void> {
    if (!(await this.deps.enabled())) return;
    const key = eventProject(event);
    const project =
      "id" in key ? await this.deps.store.projects.get(key.id) : await this.deps.store.projects.getByName(key.name);
    if (!project) return;
    const policies = (await this.enabledPolicies(project.id)).filter((p) => p.eventTypes.includes(event.type));
    if (policies.length === 0) return;
    const payload = harborPayload(event, await this.context(event, project));
    // One id for every delivery of this event, so receivers can tell them together (Harbor uses
    // the request's X-Request-Id, which the bus does not carry).
    const requestId = randomUUID();
    const at = new Date(this.now());
    await this.deps.store.transaction(async (tx) => {
      for (const policy of policies) {
        for (const [vendorType, targets] of this.deliveries(policy, payload, project, requestId)) {
          const parameters: DeliveryParameters = {
            event_type: event.type,
            project_id: project.id,
            policy_id: policy.id,
            targets,
          };
          await tx.jobs.createExecution(
            {
              vendorType,
              vendorId: policy.id,
              trigger: "EVENT",
              parameters: parameters as unknown as Record<string, unknown>,
            },
            at,
          );
        }
        await tx.webhookPolicies.recordTrigger(policy.id, event.type, at);
      }
    });
    this.deps.jobs.wake();
  }

  /** The policy's targets with their payloads, by kind of delivery. */
  private deliveries(
    policy: WebhookPolicyRecord,
    payload: HarborPayload,
    project: ProjectRecord,
    requestId: string,
  ): Map<string, DeliveryTarget[]> {
    const byVendor = new Map<string, DeliveryTarget[]>();
    for (const target of policy.targets) {
      const slack = target.type === "slack";
      let formatted: FormattedPayload;
      if (slack) formatted = formatSlack(payload);
      else if (target.payloadFormat === "CloudEvents") {
        formatted = formatCloudEvents(payload, {
          projectId: project.id,
          policyId: policy.id,
          id: randomUUID(),
          requestId,
        });
      } else formatted = formatDefault(payload);
      const vendor = slack ? SLACK_VENDOR : WEBHOOK_VENDOR;
      const list = byVendor.get(vendor) ?? [];
      list.push({
        type: slack ? "slack" : "http",
        address: target.address,
        skip_cert_verify: target.skipCertVerify,
        payload_format: target.payloadFormat,
        content_type: formatted.contentType,
        payload: formatted.body,
      });
      byVendor.set(vendor, list);
    }
    return byVendor;
  }

  private enabledPolicies(projectId: number): Promise<WebhookPolicyRecord[]> {
    const cached = this.cache.get(projectId);
    if (cached && this.now() - cached.at < CACHE_MS) return cached.policies;
    const policies = this.deps.store.webhookPolicies
      .list({ projectId, enabled: true }, { offset: 0, limit: 1_000 })
      .then((listing) => listing.items);
    this.cache.set(projectId, { at: this.now(), policies });
    // A failure is not kept: the next event asks again.
    policies.catch(() => this.cache.delete(projectId));
    return policies;
  }

  /** What the payload needs besides the event: the project, the repository's age, retention's rules. */
  private async context(event: WebhookEvent, project: ProjectRecord): Promise<PayloadContext> {
    const repository = eventRepository(event);
    const record = repository === undefined ? undefined : await this.deps.store.artifacts.repository(repository);
    let retentionRules: Array<Record<string, unknown>> | undefined;
    if (event.type === "TAG_RETENTION") {
      const policy = await this.deps.store.retentions.get(event.policyId);
      const document = policy ? (JSON.parse(policy.policy) as { rules?: unknown }) : undefined;
      retentionRules = Array.isArray(document?.rules) ? (document.rules as Array<Record<string, unknown>>) : [];
    }
    const { host, endpoint } = this.deps.registry();
    return {
      project: { id: project.id, name: project.name, public: project.metadata["public"] === "true" },
      registryHost: host,
      registryEndpoint: endpoint,
      ...(record && { repositoryCreatedAt: record.createdAt }),
      ...(retentionRules && { retentionRules }),
    };
  }
}
