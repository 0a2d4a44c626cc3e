// `airlock:replications`: what the registry copies to other registries (push) or from them
// (pull), each policy through one entry of `airlock:registries`, named. The rules are the
// provider's own (registry/replication-policy.ts): the schema gives the shape and asks its check
// for the rest, so a stack is refused before `up` for what the provider would refuse, naming the
// same key (`airlock:replications[0].trigger.cron`).

import { z } from "zod";
import { checkReplicationPolicy } from "../registry/replication-policy";
import { projectName, providerIssues } from "./schema-parts";

export const replicationSchema = z
  .strictObject({
    /** Unique in the registry. */
    name: z.string().min(1).max(255),
    description: z.string().default(""),
    /** The `name` of the entry of airlock:registries pushed to; or: */
    destinationRegistry: projectName.optional(),
    /** the `name` of the entry of airlock:registries pulled from. */
    sourceRegistry: projectName.optional(),
    /** The namespace on the destination; "" keeps the source's. */
    destinationNamespace: z.string().default(""),
    /** Leading components of a name the namespace replaces; -1 is Harbor's legacy mode. */
    destinationNamespaceReplaceCount: z.number().int().default(-1),
    /** manual, eventBased, or { type: scheduled, cron: "<six fields>" }. */
    trigger: z.unknown().optional(),
    /** { repositories: "<pattern>", tags: { matches | excludes }, labels: { matches | excludes: [] }, resource }. */
    filters: z.unknown().optional(),
    override: z.boolean().default(true),
    replicateDeletion: z.boolean().default(false),
    copyByChunk: z.boolean().default(false),
    /** KB/s per task; -1 for no limit. */
    speedKbps: z.number().int().default(-1),
    enabled: z.boolean().default(true),
    singleActiveReplication: z.boolean().default(false),
    /** Copy what the filters select once, right after the policy is created. */
    runOnCreate: z.boolean().default(false),
  })
  .superRefine((policy, ctx) => void checkReplicationPolicy(policy, providerIssues(ctx)))
  .transform((policy) => {
    // The trigger and filters in the provider's one form (checked above).
    const checked = checkReplicationPolicy(policy, () => undefined);
    return {
      ...policy,
      trigger: checked.trigger,
      filters: checked.filters,
      speedKbps: checked.speedKbps,
    };
  });

export type DeclaredReplicationConfig = z.infer<typeof replicationSchema>;
