// A project's webhook policy (Harbor's `/projects/{project}/webhook/policies`): which of Harbor's
// event types the registry posts, to which targets, in which payload format.
//
// - A target's auth header (the `Authorization` value the registry sends, e.g. "Bearer …") is a
//   secret, and write-only: it is kept in the state and sent on every create and update (Harbor's
//   PUT replaces the whole policy, targets included), never compared with what the registry
//   answers, so a header changed outside Pulumi is sent again by changing `authHeaderVersion`, as
//   for robot secrets. The constructor takes the headers out of `targets` into one top-level
//   secret input, `authHeaders` (one per target, "" for none): the engine keeps a secret only at
//   the top level of the inputs, and the targets' addresses stay readable in previews.
// - Addresses are normalised as Harbor stores them (http:// when no scheme is written, no
//   trailing slash; a query, a fragment or credentials, which Harbor would silently drop, are
//   refused), event types are sorted, an http target's payload format defaults to Harbor's
//   `Default` and a Slack target has none, so the registry's answer reads back as the same input.
// - `read` reports the name, description, targets (but their headers), event types and whether
//   the policy is enabled, so a change made by hand shows in `pulumi refresh`.
// - A new project replaces the policy; everything else, the name included, is updated in place.
//   An existing policy of the same name in the project is taken over with `adopt`.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, createdId, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

/** Harbor's webhook event types. */
export const WEBHOOK_EVENT_TYPES = [
  "DELETE_ARTIFACT",
  "PULL_ARTIFACT",
  "PUSH_ARTIFACT",
  "QUOTA_EXCEED",
  "QUOTA_WARNING",
  "REPLICATION",
  "SCANNING_COMPLETED",
  "SCANNING_FAILED",
  "SCANNING_STOPPED",
  "TAG_RETENTION",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** How the registry notifies: an HTTP POST of the payload, or a Slack incoming webhook. */
export const WEBHOOK_TARGET_TYPES = ["http", "slack"] as const;
export type WebhookTargetType = (typeof WEBHOOK_TARGET_TYPES)[number];

/** An http target's payload: Harbor's own JSON, or a CloudEvents envelope. */
export const WEBHOOK_PAYLOAD_FORMATS = ["Default", "CloudEvents"] as const;
export type WebhookPayloadFormat = (typeof WEBHOOK_PAYLOAD_FORMATS)[number];

export interface WebhookTargetArgs {
  /** Where the registry posts, e.g. https://security.dmz.internal/hooks/registry. */
  address: pulumi.Input<string>;
  /** "http" (default) or "slack". */
  type?: pulumi.Input<WebhookTargetType>;
  /** The `Authorization` header the registry sends; a secret, write-only (see `authHeaderVersion`). */
  authHeader?: pulumi.Input<string>;
  /** Skip verification of the target's TLS certificate. Default false; the DMZ policy refuses it. */
  skipCertVerify?: pulumi.Input<boolean>;
  /** An http target's payload format: "Default" (default) or "CloudEvents". */
  payloadFormat?: pulumi.Input<WebhookPayloadFormat>;
}

export interface WebhookPolicyArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The project's name. */
  project: pulumi.Input<string>;
  /** The policy's name, unique in the project. */
  name: pulumi.Input<string>;
  /** Free text shown in the registry. Default empty. */
  description?: pulumi.Input<string>;
  /** Where the events go: one target or more. */
  targets: pulumi.Input<pulumi.Input<WebhookTargetArgs>[]>;
  /** Change to send the targets' auth headers again (after they were changed outside Pulumi). */
  authHeaderVersion?: pulumi.Input<number>;
  /** Harbor's event types, e.g. ["SCANNING_COMPLETED", "SCANNING_FAILED"]. */
  eventTypes: pulumi.Input<pulumi.Input<WebhookEventType>[]>;
  /** A disabled policy sends nothing. Default true. */
  enabled?: pulumi.Input<boolean>;
  /** Take over a policy that already exists with this name in the project instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

/** A target without its auth header (that one is in `authHeaders`). */
export interface WebhookTarget {
  address: string;
  type: WebhookTargetType;
  skipCertVerify: boolean;
  /** "" for a Slack target. */
  payloadFormat: WebhookPayloadFormat | "";
}

export interface WebhookPolicyInputs {
  connection: RegistryConnection;
  project: string;
  name: string;
  description: string;
  targets: WebhookTarget[];
  /** Each target's auth header, by position; "" for none. */
  authHeaders: string[];
  authHeaderVersion: number;
  eventTypes: WebhookEventType[];
  enabled: boolean;
  adopt: boolean;
}

export interface WebhookPolicyOutputs extends WebhookPolicyInputs {
  policyId: number;
}

type Fail = (property: string, reason: string) => void;

const TARGET_KEYS: readonly string[] = ["address", "type", "skipCertVerify", "payloadFormat"];
const BY_NAME = { "X-Is-Resource-Name": "true" };

/**
 * An address as Harbor keeps it (utils.ParseEndpoint, then scheme://host+path): http:// when no
 * scheme is written, no trailing slash. Undefined when it is no http(s) URL, or has parts Harbor
 * would drop (credentials, a query, a fragment).
 */
export function normaliseWebhookAddress(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim().replace(/\/+$/, "");
  const text = trimmed.includes("://") ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.hostname === "" || url.username || url.password || url.search || url.hash || /[?#]$/.test(text)) {
    return undefined;
  }
  return `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, "");
}

/** A target's auth header, checked: it becomes an HTTP header. Never echoed. */
function headerProblem(header: unknown): string | undefined {
  if (header === undefined || header === "" || isUnknown(header)) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof header !== "string" || /[\u0000-\u001f\u007f]/.test(header))
    return "expected an HTTP header value without control characters";
  return undefined;
}

function normaliseTarget(value: unknown, index: number, fail: Fail): WebhookTarget {
  const at = `targets[${index}]`;
  if (containsUnknown(value)) return value as WebhookTarget;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(at, `expected { address, type, skipCertVerify, payloadFormat }, got ${JSON.stringify(value)}`);
    return { address: "", type: "http", skipCertVerify: false, payloadFormat: "Default" };
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) if (!TARGET_KEYS.includes(key)) fail(`${at}.${key}`, "unknown key");
  const address = normaliseWebhookAddress(given["address"]);
  if (address === undefined) {
    fail(
      `${at}.address`,
      `expected an http(s) URL without credentials, query or fragment, got ${JSON.stringify(given["address"])}`,
    );
  }
  const type = given["type"] ?? "http";
  if (!(WEBHOOK_TARGET_TYPES as readonly unknown[]).includes(type)) {
    fail(`${at}.type`, `expected one of ${WEBHOOK_TARGET_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  }
  const skipCertVerify = given["skipCertVerify"] ?? false;
  if (typeof skipCertVerify !== "boolean") {
    fail(`${at}.skipCertVerify`, `expected true or false, got ${JSON.stringify(skipCertVerify)}`);
  }
  const format = given["payloadFormat"];
  let payloadFormat: WebhookPayloadFormat | "" = type === "slack" ? "" : "Default";
  if (format !== undefined) {
    // Harbor refuses a payload format on a Slack target.
    if (type === "slack") fail(`${at}.payloadFormat`, "a slack target takes no payload format");
    else if (!(WEBHOOK_PAYLOAD_FORMATS as readonly unknown[]).includes(format))
      fail(
        `${at}.payloadFormat`,
        `expected one of ${WEBHOOK_PAYLOAD_FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
      );
    else payloadFormat = format as WebhookPayloadFormat;
  }
  return {
    address: address ?? String(given["address"]),
    type: type as WebhookTargetType,
    skipCertVerify: skipCertVerify === true,
    payloadFormat,
  };
}

/** Event types in one form: Harbor's names in upper case, sorted, once each. */
function normaliseEventTypes(value: unknown, fail: Fail): WebhookEventType[] {
  if (containsUnknown(value)) return value as WebhookEventType[];
  if (!Array.isArray(value) || value.length === 0) {
    fail("eventTypes", `expected a non-empty list of ${WEBHOOK_EVENT_TYPES.join(", ")}`);
    return [];
  }
  const found = new Set<WebhookEventType>();
  value.forEach((item: unknown, index) => {
    const type = WEBHOOK_EVENT_TYPES.find((t) => typeof item === "string" && t === item.toUpperCase());
    if (type) found.add(type);
    else fail(`eventTypes[${index}]`, `expected one of ${WEBHOOK_EVENT_TYPES.join(", ")}, got ${JSON.stringify(item)}`);
  });
  return [...found].sort();
}

/**
 * The targets as the constructor takes them (each with its `authHeader`), split into the targets
 * without headers and the headers by position. Exported for the stack configuration's schema.
 */
export function splitAuthHeaders(targets: ReadonlyArray<Record<string, unknown>>): {
  targets: Array<Record<string, unknown>>;
  authHeaders: unknown[];
} {
  return {
    targets: targets.map(({ authHeader: _header, ...target }) => target),
    authHeaders: targets.map((target) => target["authHeader"] ?? ""),
  };
}

/**
 * Validates the known inputs and normalises them as the registry keeps them; unknowns are passed
 * on (../unknowns.ts). The auth headers are never echoed. Exported for the stack configuration's
 * schema.
 */
export function checkWebhookPolicy(news: Record<string, unknown>, fail: Fail): WebhookPolicyInputs {
  const project = keepUnknown(news["project"], (value) => {
    if (typeof value !== "string" || value === "")
      fail("project", `expected a project name, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const name = keepUnknown(news["name"], (value) => {
    if (typeof value !== "string" || value.trim() === "" || value.trim() !== value || value.length > 256)
      fail("name", `expected a name of 1 to 256 characters without surrounding spaces, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const description = keepUnknown(news["description"] ?? "", (value) => {
    if (typeof value !== "string") fail("description", `expected a string, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const targets = keepUnknown(news["targets"], (value) => {
    if (!Array.isArray(value) || value.length === 0) {
      fail("targets", "expected at least one target { address, type, authHeader, skipCertVerify, payloadFormat }");
      return [];
    }
    return value.map((target: unknown, index) => normaliseTarget(target, index, fail));
  });
  const authHeaders = keepUnknown(news["authHeaders"] ?? [], (value) => {
    if (!Array.isArray(value)) {
      fail("authHeaders", "expected one auth header per target");
      return [];
    }
    value.forEach((header: unknown, index) => {
      const problem = headerProblem(header);
      if (problem !== undefined) fail(`targets[${index}].authHeader`, problem);
    });
    return value.map((header: unknown) => (header === undefined ? "" : header)) as string[];
  });
  // One header per target, "" for none; a list that is not known yet is passed on as it is.
  let padded = authHeaders;
  if (!isUnknown(targets) && !isUnknown(authHeaders)) {
    // (No targets is a failure of its own.)
    if (targets.length > 0 && authHeaders.length > targets.length) {
      fail("authHeaders", `expected at most one auth header per target (${targets.length})`);
    }
    padded = targets.map((_target, index) => authHeaders[index] ?? "");
  }
  const version = news["authHeaderVersion"] ?? 0;
  if (!isUnknown(version) && (typeof version !== "number" || !Number.isInteger(version) || version < 0)) {
    fail("authHeaderVersion", `expected a whole number from 0, got ${JSON.stringify(version)}`);
  }
  const flag = (key: string, fallback: boolean): boolean =>
    keepUnknown(news[key] ?? fallback, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  return {
    connection: news["connection"] as RegistryConnection,
    project,
    name,
    description,
    targets,
    authHeaders: padded,
    authHeaderVersion: version as number,
    eventTypes: keepUnknown(news["eventTypes"], (value) => normaliseEventTypes(value, fail)),
    enabled: flag("enabled", true),
    adopt: flag("adopt", false),
  };
}

/** Harbor's WebhookPolicy, auth headers included (a PUT replaces them all). */
export function webhookPolicyBody(inputs: WebhookPolicyInputs): Record<string, unknown> {
  return {
    name: inputs.name,
    description: inputs.description,
    enabled: inputs.enabled,
    event_types: inputs.eventTypes,
    targets: inputs.targets.map((target, index) => ({
      type: target.type,
      address: target.address,
      auth_header: inputs.authHeaders[index] ?? "",
      skip_cert_verify: target.skipCertVerify,
      // Harbor refuses a payload format on a Slack target.
      ...(target.payloadFormat !== "" && { payload_format: target.payloadFormat }),
    })),
  };
}

interface LiveWebhookPolicy {
  name?: unknown;
  description?: unknown;
  enabled?: unknown;
  event_types?: unknown;
  targets?: Array<{
    type?: unknown;
    address?: unknown;
    /** Harbor answers it in clear, a registry may mask it: never compared (write-only). */
    auth_header?: unknown;
    skip_cert_verify?: unknown;
    payload_format?: unknown;
  }> | null;
}

/** A live policy as the inputs say it; the auth headers are the state's (write-only). */
export function webhookFromHarbor(props: WebhookPolicyInputs, live: LiveWebhookPolicy): WebhookPolicyInputs {
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  const targets = (live.targets ?? []).map((target): WebhookTarget => {
    const type = text(target.type) as WebhookTargetType;
    const format = text(target.payload_format);
    return {
      address: normaliseWebhookAddress(target.address) ?? text(target.address),
      type,
      skipCertVerify: target.skip_cert_verify === true,
      // Harbor stores Default for an http target sent without a format.
      payloadFormat: type === "slack" ? "" : ((format === "" ? "Default" : format) as WebhookPayloadFormat),
    };
  });
  const eventTypes = Array.isArray(live.event_types)
    ? [...new Set((live.event_types as unknown[]).map((type) => String(type)))].sort()
    : [];
  return {
    ...props,
    name: text(live.name),
    description: text(live.description),
    enabled: live.enabled === true,
    eventTypes: eventTypes as WebhookEventType[],
    targets,
    authHeaders: targets.map((_target, index) => props.authHeaders[index] ?? ""),
  };
}

function policiesPath(project: string): string {
  return `/projects/${encodeURIComponent(project)}/webhook/policies`;
}

export const webhookPolicyProvider: pulumi.dynamic.ResourceProvider<WebhookPolicyInputs, WebhookPolicyOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs = checkWebhookPolicy(news as unknown as Record<string, unknown>, (property, reason) =>
      failures.push({ property, reason }),
    );
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    // A policy belongs to its project: Harbor cannot move it.
    const replaces = olds.project !== news.project ? ["project"] : [];
    const changes =
      replaces.length > 0 ||
      (["name", "description", "authHeaderVersion", "enabled"] as const).some((key) => olds[key] !== news[key]) ||
      (["targets", "authHeaders", "eventTypes", "connection"] as const).some(
        (key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
      );
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    const path = policiesPath(inputs.project);
    const body = webhookPolicyBody(inputs);
    const reply = await apiRequest(inputs.connection, "POST", path, body, BY_NAME);
    let policyId: number;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(
          inputs.connection,
          "GET",
          `${path}?q=${encodeURIComponent(`name=${inputs.name}`)}&page_size=100`,
          undefined,
          BY_NAME,
        ),
        `adopting webhook policy ${inputs.name} of ${inputs.project}`,
        200,
      );
      const found = (list.body as Array<{ id: number; name: string }>).find((p) => p.name === inputs.name);
      if (!found) throw new Error(`adopting webhook policy ${inputs.name} of ${inputs.project}: not found`);
      policyId = found.id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `${path}/${policyId}`, body, BY_NAME),
        `adopting webhook policy ${inputs.name} of ${inputs.project}`,
        200,
      );
    } else {
      const what = `creating webhook policy ${inputs.name} of ${inputs.project}`;
      if (reply.status === 409) expectStatus(reply, `${what} (it exists: set adopt to take it over)`, 201);
      policyId = createdId(expectStatus(reply, what, 201), what);
    }
    return { id: String(policyId), outs: { ...inputs, policyId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(props.connection, "GET", `${policiesPath(props.project)}/${id}`, undefined, BY_NAME);
    // Deleted by hand, or with its project.
    if (reply.status === 404) return { id: "", props };
    const live = expectStatus(reply, `reading webhook policy ${props.name} of ${props.project}`, 200)
      .body as LiveWebhookPolicy;
    const { policyId: _policyId, ...state } = props;
    const inputs = webhookFromHarbor(state, live);
    return { id, props: { ...inputs, policyId: Number(id) }, inputs: readInputs<WebhookPolicyOutputs>(inputs) };
  },

  async update(id, _olds, news) {
    const reply = await apiRequest(
      news.connection,
      "PUT",
      `${policiesPath(news.project)}/${id}`,
      webhookPolicyBody(news),
      BY_NAME,
    );
    const gone = reply.status === 404 ? " (it is gone: run `pulumi refresh`, then `pulumi up` creates it again)" : "";
    expectStatus(reply, `updating webhook policy ${news.name} of ${news.project}${gone}`, 200);
    return { outs: { ...news, policyId: Number(id) } };
  },

  async delete(id, props) {
    const reply = await apiRequest(
      props.connection,
      "DELETE",
      `${policiesPath(props.project)}/${id}`,
      undefined,
      BY_NAME,
    );
    expectStatus(reply, `deleting webhook policy ${props.name} of ${props.project}`, 200, 404);
  },
};

/** The provider, recording which stack declared the WebhookPolicy (./declaration.ts). */
const declaredWebhookPolicyProvider = declaredProvider(
  "webhook_policy",
  (outs) => `${outs.project}/${outs.name}`,
  webhookPolicyProvider,
);

/** A project's webhook policy: Harbor's events posted to the given targets. */
export class WebhookPolicy extends pulumi.dynamic.Resource {
  declare readonly policyId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: WebhookPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    const given = pulumi.output(args.targets);
    // The headers leave the targets for a top-level secret; what remains (addresses, types) is
    // not secret, even when a header made the whole list so.
    const split = given.apply((targets) => splitAuthHeaders(targets as unknown as Array<Record<string, unknown>>));
    const { targets: _targets, ...rest } = args;
    super(
      declaredWebhookPolicyProvider,
      name,
      {
        declaration: declaredBy(name, "WebhookPolicy", opts),
        ...rest,
        connection: pulumi.secret(args.connection),
        targets: pulumi.unsecret(split.apply((parts) => parts.targets)),
        authHeaders: pulumi.secret(split.apply((parts) => parts.authHeaders)),
        policyId: undefined,
      },
      { ...opts, additionalSecretOutputs: ["authHeaders", ...(opts?.additionalSecretOutputs ?? [])] },
      "registry",
      "WebhookPolicy",
    );
  }
}
