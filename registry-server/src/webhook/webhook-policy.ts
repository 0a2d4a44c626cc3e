// A webhook policy as Harbor's API carries it (the WebhookPolicy and WebhookTargetObject of the
// swagger) and the checks Harbor's handler makes before storing one
// (src/server/v2.0/handler/webhook.go: validateEventTypes, then validateTargets), with its messages:
// event types present and known, targets present, each address an http(s) URL (Harbor's
// utils.ParseEndpoint: a bare host is taken as http://), each type http or slack, no payload format
// for slack, a known one for http, "Default" when http names none. Pure functions; the API maps a
// problem to Harbor's 400.
//
// As Harbor reads the body (lib.JSONCopy), unknown keys are ignored and absent ones take Go's zero
// value: a policy created without `enabled` is disabled, one without `description` has "".
// Beyond Harbor: an address given without a scheme is stored with the http:// Harbor assumes (Harbor
// stores it as typed, and its deliveries to it then fail).

import { z } from "zod";
import { isWebhookEventType } from "./event-payload.ts";
import { PAYLOAD_FORMATS } from "./payload-format.ts";

/** Harbor's notify types this registry delivers to (Harbor 2.14 adds teams, not done here). */
export const NOTIFY_TYPES = ["http", "slack"] as const;
export type NotifyType = (typeof NOTIFY_TYPES)[number];

/** Harbor's column holds 256 characters; a longer name would be its 500, here a 400. */
const MAX_NAME = 256;

const targetBody = z.object({
  type: z.string().nullish(),
  address: z.string().nullish(),
  auth_header: z.string().nullish(),
  skip_cert_verify: z.boolean().nullish(),
  payload_format: z.string().nullish(),
});

export const webhookPolicyBody = z.object({
  name: z.string().max(MAX_NAME).nullish(),
  description: z
    .string()
    .max(64 * 1024)
    .nullish(),
  targets: z.array(targetBody).max(100).nullish(),
  event_types: z.array(z.string()).max(100).nullish(),
  enabled: z.boolean().nullish(),
});

export type WebhookPolicyBody = z.infer<typeof webhookPolicyBody>;

export interface WebhookTarget {
  readonly type: NotifyType;
  readonly address: string;
  /** In clear: "" when there is none. */
  readonly authHeader: string;
  readonly skipCertVerify: boolean;
  /** "Default" or "CloudEvents" for http, "" for slack. */
  readonly payloadFormat: string;
}

export interface WebhookPolicyInput {
  readonly name: string;
  readonly description: string;
  readonly targets: readonly WebhookTarget[];
  readonly eventTypes: readonly string[];
  readonly enabled: boolean;
}

export type Checked = { readonly policy: WebhookPolicyInput } | { readonly problem: string };

/** Harbor's utils.ParseEndpoint: the URL, or what is wrong with it. */
export function parseEndpoint(text: string): URL | string {
  const endpoint = text.trim().replace(/\/+$/, "");
  if (endpoint === "") return "empty URL";
  const scheme = /^(.*?):\/\//.exec(endpoint)?.[1];
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") return `invalid scheme: ${scheme}`;
  const withScheme = scheme === undefined ? `http://${endpoint}` : endpoint;
  try {
    const url = new URL(withScheme);
    if (url.hostname === "") return `parse "${withScheme}": missing host`;
    return url;
  } catch {
    return `parse "${withScheme}": invalid URI for request`;
  }
}

/** Checks a body as Harbor's handler does; the policy to store, or Harbor's message. */
export function checkPolicy(body: WebhookPolicyBody): Checked {
  const name = body.name ?? "";
  const eventTypes = body.event_types ?? [];
  if (eventTypes.length === 0) return { problem: "empty event type" };
  const unknown = eventTypes.find((type) => !isWebhookEventType(type));
  if (unknown !== undefined) return { problem: `unsupported event type ${unknown}` };
  const given = body.targets ?? [];
  if (given.length === 0) return { problem: `empty notification target with policy ${name}` };
  const targets: WebhookTarget[] = [];
  for (const target of given) {
    const url = parseEndpoint(target.address ?? "");
    if (typeof url === "string") return { problem: url };
    const type = target.type ?? "";
    if (!(NOTIFY_TYPES as readonly string[]).includes(type)) {
      return { problem: `unsupported target type ${type} with policy ${name}` };
    }
    const format = target.payload_format ?? "";
    if (format !== "" && type === "slack") return { problem: "set payload format is not allowed for slack" };
    if (format !== "" && !(PAYLOAD_FORMATS as readonly string[]).includes(format)) {
      return { problem: `unsupported payload format type: ${format}` };
    }
    const address = target.address?.trim() ?? "";
    targets.push({
      type: type as NotifyType,
      address: /^https?:\/\//.test(address) ? address : `http://${address}`,
      authHeader: target.auth_header ?? "",
      skipCertVerify: target.skip_cert_verify ?? false,
      payloadFormat: type === "http" && format === "" ? "Default" : format,
    });
  }
  return {
    policy: { name, description: body.description ?? "", targets, eventTypes, enabled: body.enabled ?? false },
  };
}
