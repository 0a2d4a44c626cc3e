// The webhooks area of the SQLite metadata store (WebhookMetadata): its statements, bound to the
// store's connections by store.ts. Rows and the listing are in rows/webhooks.ts;
// postgres/webhooks.ts is the same area on PostgreSQL.

import type { WebhookMetadata, WebhookPolicyRecord } from "../webhook-store.ts";
import {
  targetsJson,
  toWebhookPolicy,
  toWebhookTrigger,
  WEBHOOK_POLICY_COLUMNS,
  webhookPolicyListing,
  type WebhookPolicyRow,
  type WebhookTriggerRow,
} from "../rows/webhooks.ts";
import { required } from "../rows/sql.ts";
import { SQLITE } from "./dialect.ts";
import { conflict, listing, type Db, type Run } from "./statements.ts";

function taken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "webhook_policies.name", `notification policy named ${name ?? ""} already exists`);
}

function getPolicy(db: Db, id: number): WebhookPolicyRecord | undefined {
  const row = db.row<WebhookPolicyRow>(`SELECT ${WEBHOOK_POLICY_COLUMNS} FROM webhook_policies WHERE id = ?`, id);
  return row && toWebhookPolicy(row, SQLITE);
}

export function webhookArea(read: Run, write: Run): WebhookMetadata {
  return {
    create: (policy, at) =>
      write((db) => {
        try {
          const row = db.row<WebhookPolicyRow>(
            `INSERT INTO webhook_policies (project_id, name, description, targets, event_types, creator, enabled,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${WEBHOOK_POLICY_COLUMNS}`,
            policy.projectId,
            policy.name,
            policy.description,
            targetsJson(policy.targets),
            JSON.stringify(policy.eventTypes),
            policy.creator,
            policy.enabled ? 1 : 0,
            at.getTime(),
            at.getTime(),
          );
          return toWebhookPolicy(required(row, "INSERT INTO webhook_policies"), SQLITE);
        } catch (error) {
          throw taken(error, policy.name);
        }
      }),
    get: (id) => read((db) => getPolicy(db, id)),
    list: (filter, window) =>
      read((db) =>
        listing(db, webhookPolicyListing(SQLITE, filter), window, (row: WebhookPolicyRow) =>
          toWebhookPolicy(row, SQLITE),
        ),
      ),
    update: (id, changes, at) =>
      write((db) => {
        const current = getPolicy(db, id);
        if (!current) return undefined;
        try {
          const row = db.row<WebhookPolicyRow>(
            `UPDATE webhook_policies SET name = ?, description = ?, targets = ?, event_types = ?, enabled = ?,
               updated_at = ? WHERE id = ? RETURNING ${WEBHOOK_POLICY_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            targetsJson(changes.targets ?? current.targets),
            JSON.stringify(changes.eventTypes ?? current.eventTypes),
            (changes.enabled ?? current.enabled) ? 1 : 0,
            at.getTime(),
            id,
          );
          return row && toWebhookPolicy(row, SQLITE);
        } catch (error) {
          throw taken(error, changes.name);
        }
      }),
    delete: (id) => write((db) => db.run("DELETE FROM webhook_policies WHERE id = ?", id) > 0),
    recordTrigger: (policyId, eventType, at) =>
      write((db) => {
        // WHERE EXISTS: a policy deleted meanwhile records nothing (and breaks no foreign key).
        db.run(
          `INSERT INTO webhook_last_triggers (policy_id, event_type, triggered_at)
             SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_policies WHERE id = ?)
             ON CONFLICT (policy_id, event_type) DO UPDATE SET triggered_at = max(triggered_at, excluded.triggered_at)`,
          policyId,
          eventType,
          at.getTime(),
          policyId,
        );
      }),
    lastTriggers: (projectId) =>
      read((db) =>
        db
          .rows<WebhookTriggerRow>(
            `SELECT t.policy_id, t.event_type, t.triggered_at FROM webhook_last_triggers t
               JOIN webhook_policies p ON p.id = t.policy_id WHERE p.project_id = ? ORDER BY t.policy_id, t.event_type`,
            projectId,
          )
          .map((row) => toWebhookTrigger(row, SQLITE)),
      ),
  };
}
