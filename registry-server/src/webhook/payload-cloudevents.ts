// Harbor's CloudEvents payload format (src/pkg/notifier/formats/cloudevents.go): a CloudEvents 1.0
// event in structured mode, `Content-Type: application/cloudevents+json`, its `data` the Default
// payload's `event_data`, its `type` Harbor's name for the event (`harbor.artifact.pushed`…), its
// `source` the policy, `time` the event's second in RFC 3339, and two extensions: `operator` and
// `requestid`. Keys in the order the CloudEvents Go SDK writes them (attributes, extensions, data).

import type { HarborPayload, WebhookEventType } from "./event-payload.ts";
import type { FormattedPayload } from "./payload-format.ts";

/** cloudevents.go's eventTypeMapping. */
export const CLOUD_EVENT_TYPES: Readonly<Record<WebhookEventType, string>> = {
  DELETE_ARTIFACT: "harbor.artifact.deleted",
  PULL_ARTIFACT: "harbor.artifact.pulled",
  PUSH_ARTIFACT: "harbor.artifact.pushed",
  QUOTA_EXCEED: "harbor.quota.exceeded",
  QUOTA_WARNING: "harbor.quota.warned",
  REPLICATION: "harbor.replication.status.changed",
  SCANNING_FAILED: "harbor.scan.failed",
  SCANNING_COMPLETED: "harbor.scan.completed",
  SCANNING_STOPPED: "harbor.scan.stopped",
  TAG_RETENTION: "harbor.tag_retention.finished",
};

export interface CloudEventIds {
  readonly projectId: number;
  readonly policyId: number;
  /** The event's own id (a UUID per delivery, as Harbor draws one). */
  readonly id: string;
  /** Traces the event to what caused it (Harbor: the request's X-Request-Id). */
  readonly requestId: string;
}

export function formatCloudEvents(payload: HarborPayload, ids: CloudEventIds): FormattedPayload {
  const type = CLOUD_EVENT_TYPES[payload.type as WebhookEventType] as string | undefined;
  if (type === undefined) throw new Error(`unknown event type: ${payload.type}`);
  const event = {
    specversion: "1.0",
    id: ids.id,
    source: `/projects/${ids.projectId}/webhook/policies/${ids.policyId}`,
    type,
    datacontenttype: "application/json",
    // Go's RFC 3339 of a whole second: no fraction.
    time: new Date(payload.occur_at * 1000).toISOString().replace(".000Z", "Z"),
    operator: payload.operator,
    requestid: ids.requestId,
    data: payload.event_data ?? null,
  };
  return { contentType: "application/cloudevents+json", body: JSON.stringify(event) };
}
