// Harbor's webhook payload (src/pkg/notifier/model/event.go: Payload, EventData, Resource,
// Repository; src/controller/event/model: Replication, Retention, Scan) built from an event of the
// bus, as Harbor's handlers build it (src/controller/event/handler/webhook/artifact/artifact.go,
// quota/quota.go, scan/scan.go, artifact/replication.go, artifact/retention.go). Keys come in the
// order of Harbor's Go structs and empty fields are left out where Go's `omitempty` leaves them out,
// so a receiver written for Harbor reads the same document. The formats (payload-default.ts,
// payload-cloudevents.ts, payload-slack.ts) wrap this one model.

import { isDigest } from "../content/digest.ts";
import type { RegistryEvent, ReplicationEvent, ReplicationSide, RetentionEvent } from "../events/registry-events.ts";

export interface HarborResource {
  digest?: string;
  tag?: string;
  resource_url?: string;
  scan_overview?: Readonly<Record<string, unknown>>;
}

export interface HarborRepository {
  date_created?: number;
  name: string;
  namespace: string;
  repo_full_name: string;
  repo_type: "public" | "private";
}

export interface HarborEventData {
  resources?: HarborResource[];
  repository?: HarborRepository;
  replication?: Record<string, unknown>;
  retention?: Record<string, unknown>;
  scan?: { scan_type: string };
  custom_attributes?: Record<string, string>;
}

export interface HarborPayload {
  type: string;
  /** Unix seconds. */
  occur_at: number;
  operator: string;
  event_data?: HarborEventData;
}

/** What the payload needs beyond the event, looked up by the dispatcher. */
export interface PayloadContext {
  /** The event's project. */
  readonly project: { readonly id: number; readonly name: string; readonly public: boolean };
  /** The registry as clients name it, `host[:port]` (Harbor's ExtURL, which has no scheme). */
  readonly registryHost: string;
  /** The registry's URL with its scheme (Harbor's ExtEndpoint). */
  readonly registryEndpoint: string;
  /** When the event's repository was created; absent once it is gone (a deletion's event). */
  readonly repositoryCreatedAt?: Date;
  /** A retention event's policy rules, as its policy document holds them. */
  readonly retentionRules?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** The Harbor event types a webhook policy may subscribe to, in Harbor's order (notification.go). */
export const WEBHOOK_EVENT_TYPES = [
  "PUSH_ARTIFACT",
  "PULL_ARTIFACT",
  "DELETE_ARTIFACT",
  "QUOTA_EXCEED",
  "QUOTA_WARNING",
  "SCANNING_FAILED",
  "SCANNING_STOPPED",
  "SCANNING_COMPLETED",
  "REPLICATION",
  "TAG_RETENTION",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

/** The events webhooks are told of (DELETE_TAG is replication's alone, as in Harbor). */
export type WebhookEvent = Extract<RegistryEvent, { type: WebhookEventType }>;

export function isWebhookEvent(event: RegistryEvent): event is WebhookEvent {
  return isWebhookEventType(event.type);
}

/**
 * The side of a replication that is this registry: the one named "Local" or not named (Harbor's
 * local registry has no name in its payload); the destination when neither says.
 */
export function localSide(event: ReplicationEvent): ReplicationSide {
  const local = (side: ReplicationSide): boolean => side.registryName === "" || side.registryName === "Local";
  return local(event.source) && !local(event.destination) ? event.source : event.destination;
}

/** The project an event belongs to: by name, or by id for retention. */
export function eventProject(event: WebhookEvent): { name: string } | { id: number } {
  switch (event.type) {
    case "QUOTA_EXCEED":
    case "QUOTA_WARNING":
      return { name: event.projectName };
    case "TAG_RETENTION":
      return { id: event.projectId };
    case "REPLICATION":
      return { name: localSide(event).namespace };
    default:
      return { name: projectOf(event.artifact.repository) };
  }
}

/** The repository an event is about, when it has one (for the repository's creation time). */
export function eventRepository(event: WebhookEvent): string | undefined {
  switch (event.type) {
    case "PUSH_ARTIFACT":
    case "PULL_ARTIFACT":
    case "DELETE_ARTIFACT":
      return event.artifact.repository;
    default:
      return undefined;
  }
}

function projectOf(repository: string): string {
  const slash = repository.indexOf("/");
  return slash < 0 ? repository : repository.slice(0, slash);
}

/** Harbor's GetNameFromImgRepoFullName: the name after the project. */
function shortName(repository: string): string {
  return repository.slice(repository.indexOf("/") + 1);
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Harbor's BuildImageResourceURL: `host/repo@digest` or `host/repo:tag`. */
export function resourceUrl(host: string, repository: string, reference: string): string {
  return isDigest(reference) ? `${host}/${repository}@${reference}` : `${host}/${repository}:${reference}`;
}

function repositoryOf(repository: string, context: PayloadContext, withCreation: boolean): HarborRepository {
  return {
    ...(withCreation && context.repositoryCreatedAt && { date_created: unixSeconds(context.repositoryCreatedAt) }),
    name: shortName(repository),
    namespace: context.project.name,
    repo_full_name: repository,
    repo_type: context.project.public ? "public" : "private",
  };
}

/** The Harbor payload of an event, as its webhook handler builds it. */
export function harborPayload(event: WebhookEvent, context: PayloadContext): HarborPayload {
  const head = { type: event.type, occur_at: unixSeconds(event.occurredAt), operator: event.operator };
  switch (event.type) {
    case "PUSH_ARTIFACT":
    case "PULL_ARTIFACT":
    case "DELETE_ARTIFACT": {
      // artifact.go: the first tag, or the digest when there is none.
      const { repository, digest, tags } = event.artifact;
      const reference = tags[0] ?? digest;
      return {
        ...head,
        event_data: {
          resources: [
            { digest, tag: reference, resource_url: resourceUrl(context.registryHost, repository, reference) },
          ],
          repository: repositoryOf(repository, context, true),
        },
      };
    }
    case "QUOTA_EXCEED":
    case "QUOTA_WARNING":
      // quota.go: the blob or manifest refused, no URL; Harbor's message under "Details".
      return {
        ...head,
        event_data: {
          ...(event.digest !== undefined && { resources: [{ digest: event.digest }] }),
          repository: repositoryOf(event.repository, context, false),
          custom_attributes: { Details: event.details },
        },
      };
    case "SCANNING_COMPLETED":
    case "SCANNING_FAILED":
    case "SCANNING_STOPPED": {
      // scan.go: the tag scanned (if any), the URL by tag or digest, the artifact's scan overview.
      const { repository, digest, tags } = event.artifact;
      const tag = tags[0];
      return {
        ...head,
        event_data: {
          resources: [
            {
              digest,
              ...(tag !== undefined && { tag }),
              resource_url: resourceUrl(context.registryHost, repository, tag ?? digest),
              ...(event.scanOverview &&
                Object.keys(event.scanOverview).length > 0 && { scan_overview: event.scanOverview }),
            },
          ],
          repository: repositoryOf(repository, context, false),
          scan: { scan_type: "vulnerability" },
        },
      };
    }
    case "REPLICATION":
      return { ...head, event_data: { replication: replicationData(event, context) } };
    case "TAG_RETENTION":
      return { ...head, event_data: { retention: retentionData(event, context) } };
  }
}

/** Harbor's host name: its ExtURL up to the first ':'. */
function hostname(host: string): string {
  return host.split(":")[0] ?? host;
}

function replicationSide(side: ReplicationSide): Record<string, unknown> {
  return {
    ...(side.registryName !== "" && { registry_name: side.registryName }),
    registry_type: side.registryType,
    endpoint: side.endpoint,
    ...(side.namespace !== "" && { namespace: side.namespace }),
  };
}

/** replication.go's Replication: one artifact's task, succeeded or failed. */
function replicationData(event: ReplicationEvent, context: PayloadContext): Record<string, unknown> {
  const artifact = {
    type: event.artifact.type,
    status: event.artifact.status,
    name_tag: event.artifact.nameTag,
    // Harbor splits its task's references; the bus does not carry them.
    references: [],
  };
  return {
    harbor_hostname: hostname(context.registryHost),
    job_status: event.artifact.status,
    artifact_type: event.artifact.type,
    ...(event.override && { override_mode: true }),
    trigger_type: event.trigger,
    ...(event.policyCreator !== "" && { policy_creator: event.policyCreator }),
    execution_timestamp: unixSeconds(event.startedAt),
    src_resource: replicationSide(event.source),
    dest_resource: replicationSide(event.destination),
    ...(event.artifact.status === "Success" ? { successful_artifact: [artifact] } : { failed_artifact: [artifact] }),
  };
}

/** retention.go's Retention: the run's counts, the policy's rules, the artifacts deleted. */
function retentionData(event: RetentionEvent, context: PayloadContext): Record<string, unknown> {
  const rules = (context.retentionRules ?? []).map((rule) => {
    const nonEmpty = (value: unknown): boolean =>
      value !== undefined &&
      value !== null &&
      (Array.isArray(value) ? value.length > 0 : typeof value !== "object" || Object.keys(value).length > 0);
    return {
      ...(typeof rule["template"] === "string" && rule["template"] !== "" && { template: rule["template"] }),
      ...(nonEmpty(rule["params"]) && { params: rule["params"] }),
      ...(nonEmpty(rule["tag_selectors"]) && { tag_selectors: rule["tag_selectors"] }),
      ...(nonEmpty(rule["scope_selectors"]) && { scope_selectors: rule["scope_selectors"] }),
    };
  });
  return {
    total: event.total,
    retained: event.retained,
    harbor_hostname: hostname(context.registryHost),
    project_name: event.projectName,
    ...(event.policyId !== 0 && { retention_policy_id: event.policyId }),
    ...(rules.length > 0 && { retention_rule: rules }),
    ...(event.status !== "" && { result: event.status }),
    // Harbor names each by its short repository and first tag ("" untagged). Harbor's loop keeps
    // only the last one it writes; every deleted artifact is listed here.
    ...(event.deleted.length > 0 && {
      deleted_artifact: event.deleted.map((artifact) => ({
        type: "image",
        status: event.status,
        name_tag: artifact.tags[0] === undefined ? "" : `${shortName(artifact.repository)}:${artifact.tags[0]}`,
      })),
    }),
  };
}
