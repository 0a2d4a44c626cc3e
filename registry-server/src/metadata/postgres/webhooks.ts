// The webhooks area of the PostgreSQL metadata store (WebhookMetadata): its statements, bound to
// the store's connections by store.ts. Rows and the listing are in rows/webhooks.ts;
// sqlite/webhooks.ts is the same area on SQLite.

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
import { conflict, listing, type Db, type Run } from "./connection.ts";
import { POSTGRES } from "./dialect.ts";

function taken(error: unknown, name: string | undefined): unknown {
  return conflict(error, "webhook_policies_name_key", `notification policy named ${name ?? ""} already exists`);
}

async function getPolicy(db: Db, id: number): Promise<WebhookPolicyRecord | undefined> {
  const row = await db.row<WebhookPolicyRow>(
    `SELECT ${WEBHOOK_POLICY_COLUMNS} FROM webhook_policies WHERE id = $1`,
    id,
  );
  return row && toWebhookPolicy(row, POSTGRES);
}

export function webhookArea(read: Run, write: Run): WebhookMetadata {
  return {
    create: (policy, at) =>
      write(async (db) => {
        try {
          const row = await db.row<WebhookPolicyRow>(
            `INSERT INTO webhook_policies (project_id, name, description, targets, event_types, creator, enabled,
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${WEBHOOK_POLICY_COLUMNS}`,
            policy.projectId,
            policy.name,
            policy.description,
            targetsJson(policy.targets),
            JSON.stringify(policy.eventTypes),
            policy.creator,
            policy.enabled,
            at,
          );
          return toWebhookPolicy(required(row, "INSERT INTO webhook_policies"), POSTGRES);
        } catch (error) {
          throw taken(error, policy.name);
        }
      }),
    get: (id) => read((db) => getPolicy(db, id)),
    list: (filter, window) =>
      read((db) =>
        listing(db, webhookPolicyListing(POSTGRES, filter), window, (row: WebhookPolicyRow) =>
          toWebhookPolicy(row, POSTGRES),
        ),
      ),
    update: (id, changes, at) =>
      write(async (db) => {
        const current = await getPolicy(db, id);
        if (!current) return undefined;
        try {
          const row = await db.row<WebhookPolicyRow>(
            `UPDATE webhook_policies SET name = $1, description = $2, targets = $3, event_types = $4, enabled = $5,
               updated_at = $6 WHERE id = $7 RETURNING ${WEBHOOK_POLICY_COLUMNS}`,
            changes.name ?? current.name,
            changes.description ?? current.description,
            targetsJson(changes.targets ?? current.targets),
            JSON.stringify(changes.eventTypes ?? current.eventTypes),
            changes.enabled ?? current.enabled,
            at,
            id,
          );
          return row && toWebhookPolicy(row, POSTGRES);
        } catch (error) {
          throw taken(error, changes.name);
        }
      }),
    delete: (id) => write(async (db) => (await db.run("DELETE FROM webhook_policies WHERE id = $1", id)) > 0),
    recordTrigger: (policyId, eventType, at) =>
      write(async (db) => {
        // WHERE EXISTS: a policy deleted meanwhile records nothing (and breaks no foreign key).
        await db.run(
          `INSERT INTO webhook_last_triggers (policy_id, event_type, triggered_at)
             SELECT $1::bigint, $2::text, $3::timestamptz WHERE EXISTS (SELECT 1 FROM webhook_policies WHERE id = $1)
             ON CONFLICT (policy_id, event_type)
             DO UPDATE SET triggered_at = GREATEST(webhook_last_triggers.triggered_at, excluded.triggered_at)`,
          policyId,
          eventType,
          at,
        );
      }),
    lastTriggers: (projectId) =>
      read(async (db) =>
        (
          await db.rows<WebhookTriggerRow>(
            `SELECT t.policy_id, t.event_type, t.triggered_at FROM webhook_last_triggers t
               JOIN webhook_policies p ON p.id = t.policy_id WHERE p.project_id = $1
               ORDER BY t.policy_id, t.event_type`,
            projectId,
          )
        ).map((row) => toWebhookTrigger(row, POSTGRES)),
      ),
  };
}
