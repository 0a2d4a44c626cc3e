// The webhooks area's rows (WebhookMetadata in webhook-store.ts), as both backends read them:
// policies with their targets and event types as JSON, their listing with Harbor's filter and
// sort, and the trigger times.

import type { WebhookPolicyFilter, WebhookPolicyRecord, WebhookTargetRecord } from "../webhook-store.ts";
import {
  Conditions,
  orderBy,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredBool,
  type StoredJson,
  type StoredTime,
} from "./sql.ts";

/** A target as stored: the record's fields, the auth header sealed. */
interface StoredTarget {
  type: string;
  address: string;
  sealedAuthHeader?: string;
  skipCertVerify: boolean;
  payloadFormat: string;
}

export interface WebhookPolicyRow {
  id: number;
  project_id: number;
  name: string;
  description: string;
  targets: StoredJson<StoredTarget[]>;
  event_types: StoredJson<string[]>;
  creator: string;
  enabled: StoredBool;
  created_at: StoredTime;
  updated_at: StoredTime;
}

export interface WebhookTriggerRow {
  policy_id: number;
  event_type: string;
  triggered_at: StoredTime;
}

export const WEBHOOK_POLICY_COLUMNS =
  "id, project_id, name, description, targets, event_types, creator, enabled, created_at, updated_at";

/** The targets as a JSON document, in a fixed key order. */
export function targetsJson(targets: readonly WebhookTargetRecord[]): string {
  return JSON.stringify(
    targets.map((t) => ({
      type: t.type,
      address: t.address,
      ...(t.sealedAuthHeader !== undefined && { sealedAuthHeader: t.sealedAuthHeader }),
      skipCertVerify: t.skipCertVerify,
      payloadFormat: t.payloadFormat,
    })),
  );
}

export function toWebhookPolicy(row: WebhookPolicyRow, r: RowReader): WebhookPolicyRecord {
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    name: row.name,
    description: row.description,
    targets: r.json<StoredTarget[]>(row.targets).map((t) => ({
      type: t.type,
      address: t.address,
      ...(t.sealedAuthHeader !== undefined && { sealedAuthHeader: t.sealedAuthHeader }),
      skipCertVerify: t.skipCertVerify,
      payloadFormat: t.payloadFormat,
    })),
    eventTypes: r.json<string[]>(row.event_types),
    creator: row.creator,
    enabled: r.flag(row.enabled),
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

export function toWebhookTrigger(row: WebhookTriggerRow, r: RowReader) {
  return { policyId: Number(row.policy_id), eventType: row.event_type, triggeredAt: r.date(row.triggered_at) };
}

const POLICY_ORDER = { id: "id", name: "name", creation_time: "created_at", update_time: "updated_at" } as const;

/** A project's policies under `filter`: newest first unless a sort is given. */
export function webhookPolicyListing<V>(d: Dialect<V>, filter: WebhookPolicyFilter): ListingQuery<V> {
  const where = new Conditions(d)
    .equals("project_id", filter.projectId)
    .text("name", filter.name)
    .text("description", filter.description)
    .text("creator", filter.creator);
  if (filter.enabled !== undefined) where.add(filter.enabled ? "enabled" : "NOT enabled");
  const order = filter.sort && filter.sort.length > 0 ? orderBy(filter.sort, POLICY_ORDER) : "created_at DESC, id DESC";
  return { columns: WEBHOOK_POLICY_COLUMNS, from: "webhook_policies", where, order };
}
