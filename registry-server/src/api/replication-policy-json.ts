// Harbor's ReplicationPolicy document (swagger `ReplicationPolicy`), both ways: the body of a POST
// or PUT checked and turned into the domain's policy with Harbor's defaults and messages (its
// handler's and its controller's Validate), and a stored policy rendered with both registries as
// Harbor's controller fills them in: the endpoint, and this registry as Harbor's "Local" (id 0).
//
// Harbor's leniency, kept: unknown fields are ignored (a GET's answer may be sent back as it is);
// `deletion`, the deprecated spelling, counts as `replicate_deletion`; a registry of id 0 is this
// one; a negative speed is no limit (stored as 0, as Harbor's handler does). Left out, a field
// takes Go's zero value, as in Harbor: a PUT replaces the whole policy (`enabled` left out is
// false), `dest_namespace_replace_count` left out is -1 (Harbor's legacy mode), no trigger is a
// manual one. Beyond Harbor's checks: name and tag patterns must be well-formed doublestar
// patterns, a speed below -1 and a replace count below -1 are refused, and a single active
// replication with an event-based trigger is a 400 (Harbor answers that with a 500).

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { isValidRepositoryName } from "../content/names.ts";
import type { RegistryRecord } from "../metadata/registry-store.ts";
import type { ReplicationPolicyFields } from "../replication/replication-policy-service.ts";
import {
  REPLICATION_TRIGGER_TYPES,
  type FilterDecoration,
  type ReplicationFilter,
  type ReplicationPolicy,
  type ReplicationTrigger,
} from "../replication/replication-policy.ts";
import { patternProblem } from "../retention/pattern.ts";
import { ZERO_TIME } from "./artifact-view.ts";
import { time } from "./harbor-http.ts";
import { MASKED_SECRET, registryJson } from "./registry-json.ts";

const registryRef = z.object({ id: z.number().int().min(0).nullish() }).nullish();

// Go's int8 and int32, as Harbor's model binds them.
const INT8 = z.number().int().min(-128).max(127);
const INT32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);

export const replicationPolicyBodySchema = z.object({
  name: z.string().max(256).nullish(),
  description: z
    .string()
    .max(64 * 1024)
    .nullish(),
  src_registry: registryRef,
  dest_registry: registryRef,
  dest_namespace: z.string().max(255).nullish(),
  dest_namespace_replace_count: INT8.nullish(),
  trigger: z
    .object({
      type: z.string().nullish(),
      trigger_settings: z.object({ cron: z.string().max(256).nullish() }).nullish(),
    })
    .nullish(),
  filters: z
    .array(z.object({ type: z.string().nullish(), value: z.unknown(), decoration: z.string().nullish() }))
    .max(100)
    .nullish(),
  replicate_deletion: z.boolean().nullish(),
  deletion: z.boolean().nullish(),
  override: z.boolean().nullish(),
  enabled: z.boolean().nullish(),
  speed: INT32.nullish(),
  copy_by_chunk: z.boolean().nullish(),
  single_active_replication: z.boolean().nullish(),
});

export type ReplicationPolicyBody = z.infer<typeof replicationPolicyBodySchema>;

type FilterBody = NonNullable<ReplicationPolicyBody["filters"]>[number];

function bad(message: string): HarborError {
  return new HarborError("BAD_REQUEST", message);
}

function pattern(kind: string, value: string): string {
  const problem = patternProblem(value);
  if (problem !== undefined) throw bad(`invalid ${kind} filter: ${problem}`);
  return value;
}

/** One filter as Harbor's Filter.Validate checks it, in its order, then as the domain has it. */
function filterFrom(filter: FilterBody): ReplicationFilter {
  const type = filter.type ?? "";
  const decoration = filter.decoration ?? "";
  const { value } = filter;
  if (type === "resource" || type === "name" || type === "tag") {
    if (typeof value !== "string") throw bad("the type of filter value isn't string");
    if (type === "resource" && value !== "image" && value !== "artifact") {
      throw bad(`invalid resource filter: ${value}`);
    }
    if (type !== "tag" && decoration !== "") throw bad("only tag and label filter support decoration");
  } else if (type === "label") {
    if (!Array.isArray(value) || !value.every((label) => typeof label === "string")) {
      throw bad("the type of label filter value isn't string slice");
    }
  } else {
    throw bad("invalid filter type");
  }
  if (decoration !== "" && decoration !== "matches" && decoration !== "excludes") {
    throw bad(`invalid filter decoration, :${decoration}`);
  }
  // A tag or label filter without a decoration matches, as Harbor's filters read it.
  const decorated: FilterDecoration = decoration === "excludes" ? "excludes" : "matches";
  switch (type) {
    case "name":
      return { type, value: pattern("name", value as string) };
    case "resource":
      return { type, value: value as string };
    case "tag":
      return { type, value: pattern("tag", value as string), decoration: decorated };
    case "label":
      return { type, value: [...(value as string[])], decoration: decorated };
    default:
      throw bad("invalid filter type");
  }
}

function triggerFrom(body: ReplicationPolicyBody["trigger"]): ReplicationTrigger {
  if (!body) return { type: "manual" };
  const type = REPLICATION_TRIGGER_TYPES.find((known) => known === body.type);
  if (type === undefined) throw bad("invalid trigger type");
  if (type !== "scheduled") return { type };
  const cron = body.trigger_settings?.cron ?? "";
  if (cron === "") throw bad("the cron string cannot be empty when the trigger type is scheduled");
  return { type, cron };
}

/**
 * The policy a body describes, checked as Harbor checks it (400 with its messages); the
 * registries' existence and the cron are the service's to check.
 */
export function policyFromBody(body: ReplicationPolicyBody): ReplicationPolicyFields {
  const name = body.name ?? "";
  if (name === "") throw bad("empty name");
  const src = body.src_registry?.id ?? 0;
  const dest = body.dest_registry?.id ?? 0;
  if ((src !== 0) === (dest !== 0)) {
    throw bad("either src_registry or dest_registry should be empty and the other one shouldn't be empty");
  }
  const filters = (body.filters ?? []).map(filterFrom);
  const destNamespace = body.dest_namespace ?? "";
  if (destNamespace !== "" && !isValidRepositoryName(destNamespace)) {
    throw bad(`invalid destination namespace: ${destNamespace}`);
  }
  const trigger = triggerFrom(body.trigger);
  const singleActiveReplication = body.single_active_replication ?? false;
  if (singleActiveReplication && trigger.type === "event_based") {
    throw bad("single active replication is not allowed for event_based triggers");
  }
  const speed = body.speed ?? 0;
  if (speed < -1) throw bad(`speed ${speed} is invalid`);
  const replaceCount = body.dest_namespace_replace_count ?? -1;
  if (replaceCount < -1) throw bad(`dest_namespace_replace_count ${replaceCount} is invalid`);
  return {
    name,
    description: body.description ?? "",
    ...(src !== 0 ? { srcRegistryId: src } : { destRegistryId: dest }),
    destNamespace,
    destNamespaceReplaceCount: replaceCount,
    trigger,
    filters,
    replicateDeletion: (body.replicate_deletion ?? false) || (body.deletion ?? false),
    override: body.override ?? false,
    enabled: body.enabled ?? false,
    speedKbps: Math.max(speed, 0),
    copyByChunk: body.copy_by_chunk ?? false,
    singleActiveReplication,
  };
}

/** This registry as Harbor shows itself on the other side of a policy ("Local", id 0). */
export function localRegistryJson(url: string): Record<string, unknown> {
  return {
    id: 0,
    name: "Local",
    url,
    type: "harbor",
    description: "",
    insecure: false,
    status: "healthy",
    credential: { type: "secret", access_key: "", access_secret: MASKED_SECRET },
    creation_time: ZERO_TIME,
    update_time: ZERO_TIME,
  };
}

function filterJson(filter: ReplicationFilter): Record<string, unknown> {
  return filter.type === "tag" || filter.type === "label"
    ? { type: filter.type, value: filter.value, decoration: filter.decoration }
    : { type: filter.type, value: filter.value };
}

/**
 * Harbor's ReplicationPolicy. `registry` is the endpoint on the other side (undefined if it went
 * missing, when only its id is shown); `localUrl` is where this registry is reached.
 */
export function replicationPolicyJson(
  policy: ReplicationPolicy,
  registry: RegistryRecord | undefined,
  localUrl: string,
): Record<string, unknown> {
  const remoteId = policy.srcRegistryId ?? policy.destRegistryId ?? 0;
  const remote = registry ? registryJson(registry) : { id: remoteId };
  const local = localRegistryJson(localUrl);
  const pull = policy.srcRegistryId !== undefined;
  return {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    src_registry: pull ? remote : local,
    dest_registry: pull ? local : remote,
    dest_namespace: policy.destNamespace,
    dest_namespace_replace_count: policy.destNamespaceReplaceCount,
    trigger: { type: policy.trigger.type, trigger_settings: { cron: policy.trigger.cron ?? "" } },
    filters: policy.filters.map(filterJson),
    replicate_deletion: policy.replicateDeletion,
    deletion: policy.replicateDeletion,
    override: policy.override,
    enabled: policy.enabled,
    speed: policy.speedKbps,
    copy_by_chunk: policy.copyByChunk,
    single_active_replication: policy.singleActiveReplication,
    creation_time: time(policy.createdAt),
    update_time: time(policy.updatedAt),
  };
}
