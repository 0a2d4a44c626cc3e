// A replication policy (Harbor's `/replication/policies`): what this registry copies to another
// registry (push: `destinationRegistry`) or from one (pull: `sourceRegistry`), exactly one of them
// an endpoint of `/registries` (RegistryEndpoint), given by its id or its name.
//
// - Inputs are in words, normalised in `check` to the one form the registry answers, and `read`
//   says the registry's answer in the same form, so refresh compares like with like: filters as
//   one object whatever the order of Harbor's filter list, the tag filter's empty decoration read
//   as `matches`, an empty name or tag filter as none, labels sorted, the cron as the six-field
//   one the registry stores (./schedule.ts), `speed` 0 (Harbor's "unlimited", which it also
//   makes of any negative value) as -1, a missing `dest_namespace_replace_count` as Harbor's -1.
// - Every field is updated in place: Harbor's PUT replaces the whole policy, name and registries
//   included, so nothing asks for a replacement.
// - `read` reports every field, so a policy disabled, retargeted or refiltered by hand shows in
//   `pulumi refresh` and the next `up` puts the declared one back; a live filter list the words
//   cannot say is reported as `{ harborFilters: "<its JSON>" }`, which differs from every input.
// - `runOnCreate` starts one execution right after the policy is created (`POST
//   /replication/executions`), so what the filters select already is copied on that `up`; an
//   event-based trigger then copies each later push (and deletion, with `replicateDeletion`). The
//   execution runs in the registry: `up` does not wait for it. A disabled policy is not run
//   (Harbor refuses: 412).
// - Delete stops the policy's running executions first when the registry refuses to delete a
//   policy that has some (412).
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isProjectName, PROJECT_NAME_RULE } from "../project-name";
import { containsUnknown, keepUnknown } from "../unknowns";
import { apiRequest, createdId, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import { normaliseSelector, patternProblem, type PatternSelector } from "./pattern-selector";
import { liveSchedule, normaliseSchedule } from "./schedule";
import { declaredBy, declaredProvider } from "./declaration";

/** A trigger: by hand (or `runOnCreate`), on each push and deletion, or on a six-field cron. */
export type ReplicationTrigger = { type: "manual" } | { type: "eventBased" } | { type: "scheduled"; cron: string };

export type ReplicationTriggerArgs =
  | "manual"
  | "eventBased"
  | { type: "manual" }
  | { type: "eventBased" }
  | {
      type: "scheduled";
      /** Hourly, Daily, Weekly, a descriptor (@daily) or a six-field cron, seconds first. */
      cron: string;
    };

/** Labels an artifact must all carry (`matches`), or must not (`excludes`). */
export type LabelSelector = { matches: string[]; excludes?: undefined } | { excludes: string[]; matches?: undefined };

/** Harbor's resource types: container images (and their indexes), or any artifact. */
export const REPLICATION_RESOURCES = ["image", "artifact"] as const;
export type ReplicationResource = (typeof REPLICATION_RESOURCES)[number];

/** What the policy replicates; every filter left out selects everything. */
export interface ReplicationFiltersArgs {
  /** A doublestar pattern over the full repository name, project included, e.g. "production/**". */
  repositories?: string;
  /** Tags, e.g. `{ matches: "v*" }` or `{ excludes: "*-rc*" }`. */
  tags?: PatternSelector;
  /** Labels, e.g. `{ matches: ["approved"] }`. */
  labels?: LabelSelector;
  /** "image" or "artifact" (any artifact type). */
  resource?: ReplicationResource;
}

export interface ReplicationFilters extends ReplicationFiltersArgs {
  /** A live filter list the other keys cannot say, as `read` reports it (never an input). */
  harborFilters?: string;
}

export interface ReplicationPolicyArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The policy's name, unique in the registry. */
  name: pulumi.Input<string>;
  /** Free text shown in the registry. Default empty. */
  description?: pulumi.Input<string>;
  /** Push to this endpoint (its `registryId`, or its name). Exactly one of this and `sourceRegistry`. */
  destinationRegistry?: pulumi.Input<number | string>;
  /** Pull from this endpoint (its `registryId`, or its name). Exactly one of this and `destinationRegistry`. */
  sourceRegistry?: pulumi.Input<string | number>;
  /** The namespace (project) on the destination; default "" keeps the source's. */
  destinationNamespace?: pulumi.Input<string>;
  /**
   * How many leading components of a repository's name `destinationNamespace` replaces: 0
   * prefixes the whole name, 1 replaces the project, and so on; -1 (default) is Harbor's legacy mode.
   */
  destinationNamespaceReplaceCount?: pulumi.Input<number>;
  /** When the policy runs. Default "manual". */
  trigger?: pulumi.Input<ReplicationTriggerArgs>;
  /** What it replicates. Default everything. */
  filters?: pulumi.Input<ReplicationFiltersArgs>;
  /** Replace an artifact the destination has under the same tag. Default true (Harbor's portal's). */
  override?: pulumi.Input<boolean>;
  /** Deletions on the source delete on the destination too (event-based). Default false. */
  replicateDeletion?: pulumi.Input<boolean>;
  /** Send blobs in chunks rather than in one request. Default false. */
  copyByChunk?: pulumi.Input<boolean>;
  /** Bandwidth per task in KB/s; -1 (default) is unlimited. */
  speedKbps?: pulumi.Input<number>;
  /** A disabled policy runs on no trigger. Default true. */
  enabled?: pulumi.Input<boolean>;
  /** Skip a run while another run of this policy is under way. Default false. */
  singleActiveReplication?: pulumi.Input<boolean>;
  /** Start one execution right after creating the policy (enabled only). Default false. */
  runOnCreate?: pulumi.Input<boolean>;
  /** Take over a policy that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

export interface ReplicationPolicyInputs {
  connection: RegistryConnection;
  name: string;
  description: string;
  destinationRegistry?: number | string;
  sourceRegistry?: number | string;
  destinationNamespace: string;
  destinationNamespaceReplaceCount: number;
  trigger: ReplicationTrigger;
  filters: ReplicationFilters;
  override: boolean;
  replicateDeletion: boolean;
  copyByChunk: boolean;
  /** -1 for no limit. */
  speedKbps: number;
  enabled: boolean;
  singleActiveReplication: boolean;
  runOnCreate: boolean;
  adopt: boolean;
}

export interface ReplicationPolicyOutputs extends ReplicationPolicyInputs {
  policyId: number;
  /** The id of the other registry's endpoint, whichever way the policy names it. */
  registryId: number;
}

type Fail = (property: string, reason: string) => void;

/** Harbor's repository name rule (lib.RepositoryNameRe), which a destination namespace follows. */
const NAMESPACE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** Harbor's dest_namespace_replace_count is an int8. */
export const MAX_NAMESPACE_REPLACE_COUNT = 127;

const FILTER_KEYS: readonly string[] = ["repositories", "tags", "labels", "resource"];

function normaliseRegistry(value: unknown, key: string, fail: Fail): number | string {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value <= 0)
      fail(key, `expected an endpoint id (a whole number from 1), got ${value}`);
    return value;
  }
  if (!isProjectName(value)) {
    fail(key, `expected an endpoint id or an endpoint name (${PROJECT_NAME_RULE}), got ${JSON.stringify(value)}`);
  }
  return String(value);
}

/** The trigger in its one form, or the reason it is refused (a property below `trigger`). */
export function normaliseTrigger(value: unknown, fail: Fail): ReplicationTrigger {
  if (value === undefined || value === "manual") return { type: "manual" };
  if (value === "eventBased" || value === "event_based") return { type: "eventBased" };
  const expected = 'expected "manual", "eventBased" or { type: "scheduled", cron: "<six-field cron>" }';
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail("trigger", `${expected}, got ${JSON.stringify(value)}`);
    return { type: "manual" };
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== "type" && key !== "cron") fail(`trigger.${key}`, "unknown key");
  }
  const type = given["type"];
  if (type === "scheduled") {
    if (given["cron"] === undefined) {
      fail("trigger.cron", "a scheduled trigger needs a cron (six fields, seconds first)");
      return { type: "scheduled", cron: "" };
    }
    const cron = keepUnknown(given["cron"], (text) => {
      const normalised = normaliseSchedule(text, false);
      if (normalised.problem !== undefined) fail("trigger.cron", normalised.problem);
      return normalised.cron ?? String(text);
    });
    return { type: "scheduled", cron };
  }
  if (given["cron"] !== undefined) fail("trigger.cron", "only a scheduled trigger takes a cron");
  if (type === "manual") return { type: "manual" };
  if (type === "eventBased" || type === "event_based") return { type: "eventBased" };
  fail("trigger.type", `expected manual, eventBased or scheduled, got ${JSON.stringify(type)}`);
  return { type: "manual" };
}

function normaliseLabels(value: unknown, fail: Fail): LabelSelector | undefined {
  const given = value as { matches?: unknown; excludes?: unknown } | null;
  const keys = given !== null && typeof given === "object" && !Array.isArray(given) ? Object.keys(given) : [];
  const decoration = keys[0];
  if (keys.length !== 1 || (decoration !== "matches" && decoration !== "excludes")) {
    fail(
      "filters.labels",
      `expected { matches: [<label>…] } or { excludes: [<label>…] }, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  const labels = decoration === "matches" ? given?.matches : given?.excludes;
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== "string" || l.trim() === "")) {
    fail(`filters.labels.${decoration}`, "expected a non-empty list of label names");
    return undefined;
  }
  const sorted = [...(labels as string[])].sort();
  const twice = sorted.find((label, index) => sorted[index + 1] === label);
  if (twice !== undefined) fail(`filters.labels.${decoration}`, `${twice} is listed twice`);
  return decoration === "matches" ? { matches: sorted } : { excludes: sorted };
}

/** The filters in their one form (absent keys left out), reporting what is refused. */
export function normaliseFilters(value: unknown, fail: Fail): ReplicationFilters {
  if (value === undefined) return {};
  if (containsUnknown(value)) return value as ReplicationFilters;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail("filters", `expected { repositories, tags, labels, resource }, got ${JSON.stringify(value)}`);
    return {};
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!FILTER_KEYS.includes(key)) fail(`filters.${key}`, "unknown key");
  }
  const filters: ReplicationFilters = {};
  const repositories = given["repositories"];
  if (repositories !== undefined) {
    const problem = patternProblem(repositories);
    // patternProblem passed: a string.
    if (problem !== undefined) fail("filters.repositories", problem);
    else filters.repositories = repositories as string;
  }
  if (given["tags"] !== undefined) {
    const tags = normaliseSelector(given["tags"], undefined);
    if (tags.problem !== undefined) fail("filters.tags", tags.problem);
    else filters.tags = tags.selector;
  }
  if (given["labels"] !== undefined) {
    const labels = normaliseLabels(given["labels"], fail);
    if (labels) filters.labels = labels;
  }
  const resource = given["resource"];
  if (resource !== undefined) {
    if (!(REPLICATION_RESOURCES as readonly unknown[]).includes(resource)) {
      fail("filters.resource", `expected one of ${REPLICATION_RESOURCES.join(", ")}, got ${JSON.stringify(resource)}`);
    } else {
      filters.resource = resource as ReplicationResource;
    }
  }
  return filters;
}

/**
 * Validates the known inputs and normalises them as the registry answers them; unknowns are
 * passed on (../unknowns.ts). Exported for the stack configuration's schema.
 */
export function checkReplicationPolicy(news: Record<string, unknown>, fail: Fail): ReplicationPolicyInputs {
  const name = keepUnknown(news["name"], (value) => {
    if (typeof value !== "string" || value.trim() === "" || value.trim() !== value || value.length > 255)
      fail("name", `expected a name of 1 to 255 characters without surrounding spaces, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const description = keepUnknown(news["description"] ?? "", (value) => {
    if (typeof value !== "string") fail("description", `expected a string, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const destination = news["destinationRegistry"];
  const source = news["sourceRegistry"];
  if (destination === undefined && source === undefined) {
    fail("destinationRegistry", "set destinationRegistry (push to it) or sourceRegistry (pull from it)");
  } else if (destination !== undefined && source !== undefined) {
    fail("sourceRegistry", "set only one of destinationRegistry and sourceRegistry: the other side is this registry");
  }
  const registry = (key: string, value: unknown): number | string | undefined =>
    value === undefined ? undefined : keepUnknown(value, (known) => normaliseRegistry(known, key, fail));
  const destinationRegistry = registry("destinationRegistry", destination);
  const sourceRegistry = registry("sourceRegistry", source);
  const destinationNamespace = keepUnknown(news["destinationNamespace"] ?? "", (value) => {
    if (value !== "" && (typeof value !== "string" || !NAMESPACE.test(value)))
      fail("destinationNamespace", `expected "" or a namespace such as production, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const replaceCount = keepUnknown(news["destinationNamespaceReplaceCount"] ?? -1, (value) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < -1 || value > MAX_NAMESPACE_REPLACE_COUNT)
      fail(
        "destinationNamespaceReplaceCount",
        `expected -1 (Harbor's legacy mode) or 0 to ${MAX_NAMESPACE_REPLACE_COUNT}, got ${JSON.stringify(value)}`,
      );
    return value as number;
  });
  const trigger = containsUnknown(news["trigger"])
    ? (news["trigger"] as ReplicationTrigger)
    : normaliseTrigger(news["trigger"], fail);
  const filters = keepUnknown(news["filters"], (value) => normaliseFilters(value, fail));
  const speedKbps = keepUnknown(news["speedKbps"] ?? -1, (value) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < -1 || value > 2_147_483_647) {
      fail("speedKbps", `expected -1 (no limit) or a number of KB/s, got ${JSON.stringify(value)}`);
      return -1;
    }
    // Harbor stores 0 for "no limit", and any negative as 0: one input for all three.
    return value <= 0 ? -1 : value;
  });
  const flag = (key: string, fallback: boolean): boolean =>
    keepUnknown(news[key] ?? fallback, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  const singleActiveReplication = flag("singleActiveReplication", false);
  // Each event starts its own run of one artifact: skipping runs would lose events (Harbor
  // answers this combination with a 500, the registry with a 400).
  if (singleActiveReplication === true && (trigger as { type?: unknown }).type === "eventBased") {
    fail("singleActiveReplication", "an event-based policy cannot skip runs: leave it false");
  }
  return {
    connection: news["connection"] as RegistryConnection,
    name,
    description,
    ...(destinationRegistry !== undefined && { destinationRegistry }),
    ...(sourceRegistry !== undefined && { sourceRegistry }),
    destinationNamespace,
    destinationNamespaceReplaceCount: replaceCount,
    trigger,
    filters,
    override: flag("override", true),
    replicateDeletion: flag("replicateDeletion", false),
    copyByChunk: flag("copyByChunk", false),
    speedKbps,
    enabled: flag("enabled", true),
    singleActiveReplication,
    runOnCreate: flag("runOnCreate", false),
    adopt: flag("adopt", false),
  };
}

/** Harbor's filter list, in a fixed order. */
export function harborFilters(filters: ReplicationFilters): Array<Record<string, unknown>> {
  if (filters.harborFilters !== undefined) throw new Error("filters read from the registry cannot be sent back");
  const list: Array<Record<string, unknown>> = [];
  if (filters.repositories !== undefined) list.push({ type: "name", value: filters.repositories });
  if (filters.tags) {
    const decoration = filters.tags.matches !== undefined ? "matches" : "excludes";
    list.push({ type: "tag", value: filters.tags.matches ?? filters.tags.excludes, decoration });
  }
  if (filters.labels) {
    const decoration = filters.labels.matches !== undefined ? "matches" : "excludes";
    list.push({ type: "label", value: filters.labels.matches ?? filters.labels.excludes, decoration });
  }
  if (filters.resource !== undefined) list.push({ type: "resource", value: filters.resource });
  return list;
}

interface LiveFilter {
  type?: unknown;
  value?: unknown;
  decoration?: unknown;
}

/** Harbor's filter list as the inputs say it; `{ harborFilters }` when they cannot. */
export function filtersFromHarbor(live: unknown): ReplicationFilters {
  const list = Array.isArray(live) ? (live as LiveFilter[]) : [];
  const unrepresentable: ReplicationFilters = { harborFilters: JSON.stringify(live ?? []) };
  const filters: ReplicationFilters = {};
  const seen: unknown[] = [];
  for (const filter of list) {
    if (filter === null || typeof filter !== "object" || seen.includes(filter.type)) return unrepresentable;
    seen.push(filter.type);
    // Harbor's tag and label decoration defaults to matches.
    const decoration = filter.decoration === undefined || filter.decoration === "" ? "matches" : filter.decoration;
    if (decoration !== "matches" && decoration !== "excludes") return unrepresentable;
    const { type, value } = filter;
    if (type === "name") {
      if (typeof value !== "string" || decoration !== "matches") return unrepresentable;
      // An empty pattern filters nothing, as no filter.
      if (value !== "") filters.repositories = value;
    } else if (type === "tag") {
      if (typeof value !== "string") return unrepresentable;
      if (value !== "") filters.tags = decoration === "matches" ? { matches: value } : { excludes: value };
    } else if (type === "label") {
      if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) return unrepresentable;
      const labels = [...(value as string[])].sort();
      if (labels.length > 0) filters.labels = decoration === "matches" ? { matches: labels } : { excludes: labels };
    } else if (type === "resource") {
      if (typeof value !== "string" || decoration !== "matches") return unrepresentable;
      if (value !== "") filters.resource = value as ReplicationResource;
    } else {
      return unrepresentable;
    }
  }
  return filters;
}

/** Harbor's trigger for the inputs' one. Non-scheduled triggers carry an empty cron, as Harbor's portal sends them. */
export function harborTrigger(trigger: ReplicationTrigger): Record<string, unknown> {
  const type = trigger.type === "eventBased" ? "event_based" : trigger.type;
  return { type, trigger_settings: { cron: trigger.type === "scheduled" ? trigger.cron : "" } };
}

/** A live trigger as the inputs say it: an unknown type comes back as it is, to show as drift. */
export function triggerFromHarbor(live: unknown): ReplicationTrigger {
  const trigger = live as { type?: unknown; trigger_settings?: { cron?: unknown } | null } | null | undefined;
  // Harbor runs a policy without a trigger only by hand.
  if (!trigger || trigger.type === undefined || trigger.type === "" || trigger.type === "manual") {
    return { type: "manual" };
  }
  if (trigger.type === "event_based") return { type: "eventBased" };
  if (trigger.type === "scheduled")
    return { type: "scheduled", cron: liveSchedule(trigger.trigger_settings?.cron, false) };
  return { type: JSON.stringify(trigger.type) } as unknown as ReplicationTrigger;
}

/** The policy as Harbor's API carries it, the other registry given by its id. */
export function replicationPolicyBody(inputs: ReplicationPolicyInputs, registryId: number): Record<string, unknown> {
  const side = inputs.destinationRegistry !== undefined ? "dest_registry" : "src_registry";
  return {
    name: inputs.name,
    description: inputs.description,
    // This registry's side is left out (Harbor's id 0, "Local").
    [side]: { id: registryId },
    dest_namespace: inputs.destinationNamespace,
    dest_namespace_replace_count: inputs.destinationNamespaceReplaceCount,
    trigger: harborTrigger(inputs.trigger),
    filters: harborFilters(inputs.filters),
    // Harbor's handler reads the deprecated `deletion`; newer readers `replicate_deletion`.
    replicate_deletion: inputs.replicateDeletion,
    deletion: inputs.replicateDeletion,
    override: inputs.override,
    enabled: inputs.enabled,
    speed: inputs.speedKbps > 0 ? inputs.speedKbps : 0,
    copy_by_chunk: inputs.copyByChunk,
    single_active_replication: inputs.singleActiveReplication,
  };
}

export interface LiveReplicationPolicy {
  id?: number;
  name?: unknown;
  description?: unknown;
  src_registry?: { id?: unknown; name?: unknown } | null;
  dest_registry?: { id?: unknown; name?: unknown } | null;
  dest_namespace?: unknown;
  dest_namespace_replace_count?: unknown;
  trigger?: unknown;
  filters?: unknown;
  replicate_deletion?: unknown;
  deletion?: unknown;
  override?: unknown;
  enabled?: unknown;
  speed?: unknown;
  copy_by_chunk?: unknown;
  single_active_replication?: unknown;
}

/** The other registry of a live policy: its side, id and name (when the registry gave it). */
export function liveRegistry(
  live: LiveReplicationPolicy,
): { side: "destinationRegistry" | "sourceRegistry"; id: number; name?: string } | undefined {
  // Harbor fills this registry's side with { id: 0, name: "Local" }.
  for (const [side, registry] of [
    ["destinationRegistry", live.dest_registry],
    ["sourceRegistry", live.src_registry],
  ] as const) {
    const id = registry?.id;
    if (typeof id === "number" && id > 0) {
      return { side, id, ...(typeof registry?.name === "string" && { name: registry.name }) };
    }
  }
  return undefined;
}

/**
 * A live policy as the inputs say it. `registry` is how the inputs name the other registry: by
 * its id, or by the name the caller resolved for the live id.
 */
export function replicationFromHarbor(
  props: ReplicationPolicyInputs,
  live: LiveReplicationPolicy,
  registry: { side: "destinationRegistry" | "sourceRegistry"; value: number | string } | undefined,
): ReplicationPolicyInputs {
  const { destinationRegistry: _d, sourceRegistry: _s, ...rest } = props;
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  const replaceCount = live.dest_namespace_replace_count;
  const speed = live.speed;
  return {
    ...rest,
    ...(registry && { [registry.side]: registry.value }),
    name: text(live.name),
    description: text(live.description),
    destinationNamespace: text(live.dest_namespace),
    destinationNamespaceReplaceCount: typeof replaceCount === "number" ? replaceCount : -1,
    trigger: triggerFromHarbor(live.trigger),
    filters: filtersFromHarbor(live.filters),
    override: live.override === true,
    replicateDeletion: (live.replicate_deletion ?? live.deletion) === true,
    copyByChunk: live.copy_by_chunk === true,
    speedKbps: typeof speed === "number" && speed > 0 ? speed : -1,
    enabled: live.enabled === true,
    singleActiveReplication: live.single_active_replication === true,
  };
}

const DIFF_KEYS = [
  "name",
  "description",
  "destinationRegistry",
  "sourceRegistry",
  "destinationNamespace",
  "destinationNamespaceReplaceCount",
  "override",
  "replicateDeletion",
  "copyByChunk",
  "speedKbps",
  "enabled",
  "singleActiveReplication",
] as const;

/** The id of the other registry, looking an endpoint's name up. */
async function resolveRegistry(inputs: ReplicationPolicyInputs): Promise<number> {
  const given = inputs.destinationRegistry ?? inputs.sourceRegistry;
  if (typeof given === "number") return given;
  const reply = await apiRequest(
    inputs.connection,
    "GET",
    `/registries?q=${encodeURIComponent(`name=${String(given)}`)}&page_size=100`,
  );
  const list = expectStatus(reply, `looking up registry endpoint ${String(given)}`, 200).body as Array<{
    id: number;
    name: string;
  }>;
  const found = list.find((registry) => registry.name === given);
  if (!found) throw new Error(`replication policy ${inputs.name}: no registry endpoint is named ${String(given)}`);
  return found.id;
}

/** How the inputs name the live policy's other registry: its id, or its name when they name it so. */
async function registryAsDeclared(
  props: ReplicationPolicyOutputs,
  live: LiveReplicationPolicy,
): Promise<{ side: "destinationRegistry" | "sourceRegistry"; value: number | string; id: number } | undefined> {
  const found = liveRegistry(live);
  if (!found) return undefined;
  const declared = props.destinationRegistry ?? props.sourceRegistry;
  if (typeof declared !== "string") return { side: found.side, value: found.id, id: found.id };
  if (found.name !== undefined) return { side: found.side, value: found.name, id: found.id };
  if (found.id === props.registryId) return { side: found.side, value: declared, id: found.id };
  const reply = await apiRequest(props.connection, "GET", `/registries/${found.id}`);
  const name = reply.status === 200 ? (reply.body as { name?: unknown }).name : undefined;
  return { side: found.side, value: typeof name === "string" ? name : found.id, id: found.id };
}

async function startExecution(inputs: ReplicationPolicyInputs, policyId: number): Promise<void> {
  const reply = await apiRequest(inputs.connection, "POST", "/replication/executions", { policy_id: policyId });
  expectStatus(reply, `starting replication policy ${inputs.name} (runOnCreate)`, 201);
}

/** Stops the policy's executions in progress, so that it can be deleted. */
async function stopExecutions(props: ReplicationPolicyOutputs, policyId: string): Promise<void> {
  const reply = await apiRequest(
    props.connection,
    "GET",
    `/replication/executions?policy_id=${policyId}&status=InProgress&page_size=100`,
  );
  const running = expectStatus(reply, `listing the executions of replication policy ${props.name}`, 200).body as
    Array<{ id: number }> | undefined;
  for (const execution of running ?? []) {
    const stop = await apiRequest(props.connection, "PUT", `/replication/executions/${execution.id}`);
    expectStatus(stop, `stopping replication execution ${execution.id} of ${props.name}`, 200, 404);
  }
}

const DELETE_ATTEMPTS = 30;
const DELETE_RETRY_MS = 1_000;

export const replicationPolicyProvider: pulumi.dynamic.ResourceProvider<
  ReplicationPolicyInputs,
  ReplicationPolicyOutputs
> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs = checkReplicationPolicy(news as unknown as Record<string, unknown>, (property, reason) =>
      failures.push({ property, reason }),
    );
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    // Harbor's PUT replaces every field of the policy: nothing needs a replacement.
    const changes =
      DIFF_KEYS.some((key) => olds[key] !== news[key]) ||
      JSON.stringify(olds.trigger) !== JSON.stringify(news.trigger) ||
      JSON.stringify(olds.filters) !== JSON.stringify(news.filters) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs) {
    const registryId = await resolveRegistry(inputs);
    const body = replicationPolicyBody(inputs, registryId);
    const reply = await apiRequest(inputs.connection, "POST", "/replication/policies", body);
    let policyId: number;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(
          inputs.connection,
          "GET",
          `/replication/policies?q=${encodeURIComponent(`name=${inputs.name}`)}&page_size=100`,
        ),
        `adopting replication policy ${inputs.name}`,
        200,
      );
      const found = (list.body as Array<{ id: number; name: string }>).find((p) => p.name === inputs.name);
      if (!found) throw new Error(`adopting replication policy ${inputs.name}: not found`);
      policyId = found.id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/replication/policies/${policyId}`, body),
        `adopting replication policy ${inputs.name}`,
        200,
      );
    } else {
      const what = `creating replication policy ${inputs.name}`;
      if (reply.status === 409) expectStatus(reply, `${what} (it exists: set adopt to take it over)`, 201);
      policyId = createdId(expectStatus(reply, what, 201), what);
    }
    if (inputs.runOnCreate && inputs.enabled) await startExecution(inputs, policyId);
    return { id: String(policyId), outs: { ...inputs, policyId, registryId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(props.connection, "GET", `/replication/policies/${id}`);
    if (reply.status === 404) return { id: "", props };
    const live = expectStatus(reply, `reading replication policy ${props.name}`, 200).body as LiveReplicationPolicy;
    const registry = await registryAsDeclared(props, live);
    const { policyId: _policyId, registryId, ...state } = props;
    const inputs = replicationFromHarbor(state, live, registry);
    return {
      id,
      props: { ...inputs, policyId: Number(id), registryId: registry?.id ?? registryId },
      inputs: readInputs<ReplicationPolicyOutputs>(inputs),
    };
  },

  async update(id, _olds, news) {
    const registryId = await resolveRegistry(news);
    const reply = await apiRequest(
      news.connection,
      "PUT",
      `/replication/policies/${id}`,
      replicationPolicyBody(news, registryId),
    );
    const gone = reply.status === 404 ? " (it is gone: run `pulumi refresh`, then `pulumi up` creates it again)" : "";
    expectStatus(reply, `updating replication policy ${news.name}${gone}`, 200);
    return { outs: { ...news, policyId: Number(id), registryId } };
  },

  async delete(id, props) {
    for (let attempt = 1; ; attempt++) {
      const reply = await apiRequest(props.connection, "DELETE", `/replication/policies/${id}`);
      // Harbor refuses to delete a policy with executions under way: stop them, then try again.
      if (reply.status === 412 && attempt < DELETE_ATTEMPTS) {
        if (attempt === 1) await stopExecutions(props, id);
        await new Promise((resolve) => setTimeout(resolve, DELETE_RETRY_MS));
        continue;
      }
      expectStatus(reply, `deleting replication policy ${props.name}`, 200, 404);
      return;
    }
  },
};

/** The provider, recording which stack declared the ReplicationPolicy (./declaration.ts). */
const declaredReplicationPolicyProvider = declaredProvider(
  "replication_policy",
  (outs) => outs.name,
  replicationPolicyProvider,
);

/** A replication policy: what this registry pushes to another registry, or pulls from one. */
export class ReplicationPolicy extends pulumi.dynamic.Resource {
  declare readonly policyId: pulumi.Output<number>;
  declare readonly registryId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: ReplicationPolicyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredReplicationPolicyProvider,
      name,
      {
        declaration: declaredBy(name, "ReplicationPolicy", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        policyId: undefined,
        registryId: undefined,
      },
      opts,
      "registry",
      "ReplicationPolicy",
    );
  }
}
