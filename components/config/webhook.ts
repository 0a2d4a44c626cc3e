// A project's webhook policies (`airlock:projects[].webhooks`): Harbor's events posted to the
// security team's endpoint, a chat, a CI. The rules are the provider's own
// (registry/webhook-policy.ts), asked through its check; a target's `authHeader` is a secret,
// set per installation with `pulumi config set --secret --path
// 'airlock:projects[0].webhooks[0].targets[0].authHeader' 'Bearer …'`, and never echoed.

import { z } from "zod";
import {
  checkWebhookPolicy,
  splitAuthHeaders,
  WEBHOOK_PAYLOAD_FORMATS,
  WEBHOOK_TARGET_TYPES,
} from "../registry/webhook-policy";
import { providerIssues } from "./schema-parts";

export const webhookTargetSchema = z.strictObject({
  /** Where the registry posts, e.g. https://security.dmz.internal/hooks/registry. */
  address: z.string().min(1),
  type: z.enum(WEBHOOK_TARGET_TYPES).default("http"),
  /** The Authorization header sent with each delivery; a secret. */
  authHeader: z.string().optional(),
  skipCertVerify: z.boolean().default(false),
  /** An http target's: Default (Harbor's JSON) or CloudEvents. */
  payloadFormat: z.enum(WEBHOOK_PAYLOAD_FORMATS).optional(),
});

export const webhookSchema = z
  .strictObject({
    /** Unique in the project. */
    name: z.string().min(1),
    description: z.string().default(""),
    targets: z.array(webhookTargetSchema).min(1),
    /** Bump to send the auth headers again after they were changed outside Pulumi. */
    authHeaderVersion: z.number().int().min(0).default(0),
    /** Harbor's event types: PUSH_ARTIFACT, SCANNING_COMPLETED, REPLICATION… */
    eventTypes: z.array(z.string()).min(1),
    enabled: z.boolean().default(true),
  })
  .superRefine((webhook, ctx) => {
    const { targets, authHeaders } = splitAuthHeaders(webhook.targets);
    // The project is the one the list is under: any name passes the check.
    checkWebhookPolicy({ ...webhook, project: "project", targets, authHeaders }, providerIssues(ctx));
  });

export type DeclaredWebhookConfig = z.infer<typeof webhookSchema>;
