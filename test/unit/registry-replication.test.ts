// Replication and webhook policies, their pure parts: inputs checked and normalised (triggers,
// crons, filters, speeds, addresses, event types), mapped to Harbor's bodies and read back from
// Harbor's answers. The property that keeps refresh quiet is tested directly: what `check` makes
// of an input, sent to the registry and read back as Harbor answers it (filters in another order,
// an empty decoration, speed 0, the deprecated `deletion`, the local side as { id: 0, name:
// "Local" }, a payload format filled in), is the same input; and a change made by hand is not.

import { describe, expect, it } from "vitest";
import {
  checkReplicationPolicy,
  filtersFromHarbor,
  replicationFromHarbor,
  replicationPolicyBody,
  replicationPolicyProvider,
  type ReplicationPolicyInputs,
  type ReplicationPolicyOutputs,
} from "../../components/registry/replication-policy";
import {
  checkWebhookPolicy,
  splitAuthHeaders,
  webhookFromHarbor,
  webhookPolicyBody,
  webhookPolicyProvider,
  type WebhookPolicyInputs,
  type WebhookPolicyOutputs,
} from "../../components/registry/webhook-policy";
import { UNKNOWN } from "../../components/unknowns";

const connection = { url: "https://registry.test:5443", username: "admin", password: "pw" };

function replication(news: Record<string, unknown>): { inputs: ReplicationPolicyInputs; failures: string[] } {
  const failures: string[] = [];
  const inputs = checkReplicationPolicy({ connection, name: "to-lyon", ...news }, (property, reason) =>
    failures.push(`${property}: ${reason}`),
  );
  return { inputs, failures };
}

function webhook(news: Record<string, unknown>): { inputs: WebhookPolicyInputs; failures: string[] } {
  const failures: string[] = [];
  const inputs = checkWebhookPolicy({ connection, project: "production", name: "security", ...news }, (p, reason) =>
    failures.push(`${p}: ${reason}`),
  );
  return { inputs, failures };
}

/** What Harbor answers for a policy it stored from `body`: the fields it adds and rewrites. */
function harborAnswer(body: Record<string, unknown>, registry: { id: number; name: string }): Record<string, unknown> {
  const filters = [...(body["filters"] as Array<Record<string, unknown>>)].reverse().map((filter) =>
    // Harbor's portal sends tag filters without a decoration: matches.
    filter["decoration"] === "matches" && filter["type"] === "tag" ? { ...filter, decoration: "" } : filter,
  );
  const { replicate_deletion: deletion, ...rest } = body;
  const local = { id: 0, name: "Local", type: "harbor", url: "http://core:8080" };
  const remote = {
    ...registry,
    type: "harbor",
    url: "https://registry.lyon.example",
    credential: { access_secret: "*****" },
  };
  return {
    ...rest,
    id: 7,
    creator: "admin",
    creation_time: "2026-12-06T09:00:00Z",
    update_time: "2026-12-06T09:00:00Z",
    deletion,
    src_registry: body["src_registry"] ? remote : local,
    dest_registry: body["dest_registry"] ? remote : local,
    filters,
  };
}

describe("a replication policy", () => {
  it("fills Harbor's defaults: manual, every artifact, override, enabled, no limit, legacy namespace mode", () => {
    const { inputs, failures } = replication({ destinationRegistry: "lyon" });
    expect(failures).toEqual([]);
    expect(inputs).toEqual({
      connection,
      name: "to-lyon",
      description: "",
      destinationRegistry: "lyon",
      destinationNamespace: "",
      destinationNamespaceReplaceCount: -1,
      trigger: { type: "manual" },
      filters: {},
      override: true,
      replicateDeletion: false,
      copyByChunk: false,
      speedKbps: -1,
      enabled: true,
      singleActiveReplication: false,
      runOnCreate: false,
      adopt: false,
    });
  });

  it("normalises triggers, crons, labels and speeds to the one form the registry answers", () => {
    expect(replication({ destinationRegistry: 3, trigger: "eventBased" }).inputs.trigger).toEqual({
      type: "eventBased",
    });
    expect(replication({ destinationRegistry: 3, trigger: "event_based" }).inputs.trigger).toEqual({
      type: "eventBased",
    });
    expect(replication({ destinationRegistry: 3, trigger: { type: "manual" } }).inputs.trigger).toEqual({
      type: "manual",
    });
    expect(
      replication({ destinationRegistry: 3, trigger: { type: "scheduled", cron: "  0  30 2 * *   mon " } }).inputs
        .trigger,
    ).toEqual({ type: "scheduled", cron: "0 30 2 * * MON" });
    expect(
      replication({ destinationRegistry: 3, trigger: { type: "scheduled", cron: "daily" } }).inputs.trigger,
    ).toEqual({ type: "scheduled", cron: "0 0 0 * * *" });
    const { inputs } = replication({
      sourceRegistry: 3,
      filters: { labels: { excludes: ["wip", "draft"] }, resource: "artifact" },
      speedKbps: 0,
    });
    expect(inputs.filters).toEqual({ labels: { excludes: ["draft", "wip"] }, resource: "artifact" });
    // Harbor stores 0 for "no limit" (and any negative value as 0): one input for them all.
    expect(inputs.speedKbps).toBe(-1);
    expect(replication({ destinationRegistry: 3, speedKbps: 2048 }).inputs.speedKbps).toBe(2048);
  });

  it("is refused naming the key: a five-field cron, both or neither registry, bad patterns, labels, namespace", () => {
    expect(replication({ destinationRegistry: 3, trigger: { type: "scheduled", cron: "0 2 * * *" } }).failures).toEqual(
      [`trigger.cron: "0 2 * * *" has five fields: Harbor's cron has six, seconds first (e.g. "0 0 2 * * *")`],
    );
    expect(replication({ destinationRegistry: 3, trigger: { type: "scheduled" } }).failures).toEqual([
      "trigger.cron: a scheduled trigger needs a cron (six fields, seconds first)",
    ]);
    expect(
      replication({ destinationRegistry: 3, trigger: { type: "eventBased", cron: "0 0 2 * * *" } }).failures,
    ).toEqual(["trigger.cron: only a scheduled trigger takes a cron"]);
    expect(
      replication({ destinationRegistry: 3, trigger: "eventBased", singleActiveReplication: true }).failures,
    ).toEqual(["singleActiveReplication: an event-based policy cannot skip runs: leave it false"]);
    expect(replication({}).failures).toEqual([
      "destinationRegistry: set destinationRegistry (push to it) or sourceRegistry (pull from it)",
    ]);
    expect(replication({ destinationRegistry: 3, sourceRegistry: "lyon" }).failures).toEqual([
      "sourceRegistry: set only one of destinationRegistry and sourceRegistry: the other side is this registry",
    ]);
    expect(
      replication({
        destinationRegistry: 3,
        destinationNamespace: "Prod",
        destinationNamespaceReplaceCount: -2,
        filters: {
          repositories: "production/{a,b",
          tags: { matches: "" },
          labels: { matches: [] },
          resource: "chart",
        },
      }).failures,
    ).toEqual([
      'destinationNamespace: expected "" or a namespace such as production, got "Prod"',
      "destinationNamespaceReplaceCount: expected -1 (Harbor's legacy mode) or 0 to 127, got -2",
      'filters.repositories: "production/{a,b" leaves a { open',
      'filters.tags: expected a pattern, got ""',
      "filters.labels.matches: expected a non-empty list of label names",
      'filters.resource: expected one of image, artifact, got "chart"',
    ]);
  });

  it("passes unknowns on: a registry id not known yet, a trigger or filters holding one", () => {
    const { inputs, failures } = replication({
      destinationRegistry: UNKNOWN,
      trigger: { type: "scheduled", cron: UNKNOWN },
      filters: { repositories: UNKNOWN },
    });
    expect(failures).toEqual([]);
    expect(inputs.destinationRegistry).toBe(UNKNOWN);
    expect(inputs.trigger).toEqual({ type: "scheduled", cron: UNKNOWN });
    expect(inputs.filters).toEqual({ repositories: UNKNOWN });
  });

  it("is sent as Harbor's body and read back from Harbor's answer as the same input (push and pull)", () => {
    for (const side of [{ destinationRegistry: "lyon" }, { sourceRegistry: 4 }]) {
      const { inputs, failures } = replication({
        ...side,
        description: "releases",
        destinationNamespace: "production",
        destinationNamespaceReplaceCount: 1,
        trigger: { type: "scheduled", cron: "0 0 2 * * *" },
        filters: {
          repositories: "production/**",
          tags: { matches: "v*" },
          labels: { matches: ["approved"] },
          resource: "image",
        },
        replicateDeletion: true,
        copyByChunk: true,
        singleActiveReplication: true,
      });
      expect(failures).toEqual([]);
      const body = replicationPolicyBody(inputs, 4);
      expect(body).toMatchObject({
        trigger: { type: "scheduled", trigger_settings: { cron: "0 0 2 * * *" } },
        filters: [
          { type: "name", value: "production/**" },
          { type: "tag", value: "v*", decoration: "matches" },
          { type: "label", value: ["approved"], decoration: "matches" },
          { type: "resource", value: "image" },
        ],
        replicate_deletion: true,
        deletion: true,
        speed: 0,
      });
      // This registry's side is left out of the body.
      expect(Object.keys(body).filter((key) => key.endsWith("_registry"))).toEqual([
        "destinationRegistry" in side ? "dest_registry" : "src_registry",
      ]);
      const live = harborAnswer(body, { id: 4, name: "lyon" });
      const registry =
        "destinationRegistry" in side
          ? { side: "destinationRegistry" as const, value: "lyon" }
          : { side: "sourceRegistry" as const, value: 4 };
      expect(replicationFromHarbor(inputs, live, registry)).toEqual(inputs);
    }
  });

  it("reads Harbor's empty filters, a missing trigger and replace count as the defaults", () => {
    const { inputs } = replication({ destinationRegistry: 3 });
    const live = {
      name: "to-lyon",
      description: "",
      dest_registry: { id: 3 },
      dest_namespace: "",
      filters: [
        { type: "name", value: "" },
        { type: "tag", value: "", decoration: "matches" },
        { type: "label", value: [], decoration: "matches" },
      ],
      trigger: null,
      override: true,
      enabled: true,
      speed: 0,
    };
    expect(replicationFromHarbor(inputs, live, { side: "destinationRegistry", value: 3 })).toEqual(inputs);
  });

  it("shows changes made by hand: disabled, another filter, another trigger, filters the words cannot say", () => {
    const { inputs } = replication({
      destinationRegistry: 3,
      trigger: "eventBased",
      filters: { repositories: "production/**", tags: { matches: "v*" } },
    });
    const live = harborAnswer(replicationPolicyBody(inputs, 3), { id: 3, name: "lyon" });
    const read = (change: Record<string, unknown>): ReplicationPolicyInputs =>
      replicationFromHarbor(inputs, { ...live, ...change }, { side: "destinationRegistry", value: 3 });
    expect(read({ enabled: false }).enabled).toBe(false);
    expect(read({ filters: [{ type: "tag", value: "release-*", decoration: "excludes" }] }).filters).toEqual({
      tags: { excludes: "release-*" },
    });
    expect(read({ trigger: { type: "manual" } }).trigger).toEqual({ type: "manual" });
    expect(read({ trigger: { type: "scheduled", trigger_settings: { cron: "0 0 * * * *" } } }).trigger).toEqual({
      type: "scheduled",
      cron: "0 0 * * * *",
    });
    const twice = [
      { type: "name", value: "a/**" },
      { type: "name", value: "b/**" },
    ];
    expect(filtersFromHarbor(twice)).toEqual({ harborFilters: JSON.stringify(twice) });
    expect(filtersFromHarbor([{ type: "name", value: "a/**", decoration: "excludes" }])).toHaveProperty(
      "harborFilters",
    );
    // The direction turned round by hand: the other side is reported, and differs.
    const pulled = replicationFromHarbor(
      inputs,
      { ...live, dest_registry: { id: 0, name: "Local" }, src_registry: { id: 3, name: "lyon" } },
      { side: "sourceRegistry", value: 3 },
    );
    expect(pulled).toMatchObject({ sourceRegistry: 3 });
    expect(pulled.destinationRegistry).toBeUndefined();
  });

  it("diff: every change is an update in place (Harbor's PUT takes the name and registries too)", async () => {
    const { inputs } = replication({ destinationRegistry: 3, trigger: "eventBased" });
    const olds: ReplicationPolicyOutputs = { ...inputs, policyId: 7, registryId: 3 };
    const diff = replicationPolicyProvider.diff!;
    expect(await diff("7", olds, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    for (const change of [
      { name: "renamed" },
      { destinationRegistry: 4 },
      { enabled: false },
      { trigger: { type: "manual" as const } },
      { filters: { tags: { matches: "v*" } } },
      { destinationRegistry: UNKNOWN },
    ]) {
      expect(await diff("7", olds, { ...inputs, ...change }), JSON.stringify(change)).toMatchObject({
        changes: true,
        replaces: [],
      });
    }
    // Flags that only act at creation change nothing in the registry.
    expect((await diff("7", olds, { ...inputs, runOnCreate: true, adopt: true })).changes).toBe(false);
  });
});

describe("a webhook policy", () => {
  it("normalises addresses, event types and payload formats as Harbor keeps them", () => {
    const { inputs, failures } = webhook({
      targets: [
        { address: "HTTPS://Security.DMZ.example:443/hooks/registry/" },
        { address: "chat.example/hooks/T1/B2", type: "slack" },
        { address: "https://ci.example/events", payloadFormat: "CloudEvents", skipCertVerify: true },
      ],
      authHeaders: ["Bearer one"],
      eventTypes: ["scanning_failed", "SCANNING_COMPLETED", "SCANNING_FAILED"],
    });
    expect(failures).toEqual([]);
    expect(inputs.targets).toEqual([
      {
        address: "https://security.dmz.example/hooks/registry",
        type: "http",
        skipCertVerify: false,
        payloadFormat: "Default",
      },
      { address: "http://chat.example/hooks/T1/B2", type: "slack", skipCertVerify: false, payloadFormat: "" },
      { address: "https://ci.example/events", type: "http", skipCertVerify: true, payloadFormat: "CloudEvents" },
    ]);
    // One header per target, by position.
    expect(inputs.authHeaders).toEqual(["Bearer one", "", ""]);
    expect(inputs.eventTypes).toEqual(["SCANNING_COMPLETED", "SCANNING_FAILED"]);
    expect(inputs).toMatchObject({ enabled: true, authHeaderVersion: 0, description: "" });
  });

  it("takes the headers out of the targets, for a top-level secret", () => {
    expect(
      splitAuthHeaders([{ address: "https://a.example", authHeader: "Bearer a" }, { address: "https://b.example" }]),
    ).toEqual({
      targets: [{ address: "https://a.example" }, { address: "https://b.example" }],
      authHeaders: ["Bearer a", ""],
    });
  });

  it("is refused naming the key, never echoing a header", () => {
    const { failures } = webhook({
      name: "",
      targets: [
        { address: "ftp://files.example" },
        { address: "https://user:pw@hooks.example" },
        { address: "https://hooks.example/#x", type: "teams" },
      ],
      authHeaders: ["Bearer se\ncret"],
      eventTypes: ["PUSH_IMAGE"],
      enabled: "yes",
    });
    expect(failures).toEqual([
      'name: expected a name of 1 to 256 characters without surrounding spaces, got ""',
      'targets[0].address: expected an http(s) URL without credentials, query or fragment, got "ftp://files.example"',
      'targets[1].address: expected an http(s) URL without credentials, query or fragment, got "https://user:pw@hooks.example"',
      'targets[2].address: expected an http(s) URL without credentials, query or fragment, got "https://hooks.example/#x"',
      'targets[2].type: expected one of http, slack, got "teams"',
      "targets[0].authHeader: expected an HTTP header value without control characters",
      expect.stringMatching(/^eventTypes\[0\]: expected one of DELETE_ARTIFACT, .* got "PUSH_IMAGE"$/),
      'enabled: expected true or false, got "yes"',
    ]);
    expect(failures.join("\n")).not.toContain("cret");
    expect(
      webhook({ targets: [{ address: "https://h.example" }], eventTypes: ["REPLICATION"], authHeaders: ["a", "b"] })
        .failures,
    ).toEqual(["authHeaders: expected at most one auth header per target (1)"]);
  });

  it("is sent with its headers and read back from Harbor's answer as the same input, the headers the state's", () => {
    const { inputs } = webhook({
      description: "scan results",
      targets: [
        { address: "https://security.dmz.example/hooks/registry" },
        { address: "https://chat.example/hooks/x", type: "slack" },
      ],
      authHeaders: ["Bearer secret-1"],
      eventTypes: ["SCANNING_FAILED", "SCANNING_COMPLETED"],
    });
    const body = webhookPolicyBody(inputs);
    expect(body).toEqual({
      name: "security",
      description: "scan results",
      enabled: true,
      event_types: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
      targets: [
        {
          type: "http",
          address: "https://security.dmz.example/hooks/registry",
          auth_header: "Bearer secret-1",
          skip_cert_verify: false,
          payload_format: "Default",
        },
        // Harbor refuses a payload format on a Slack target.
        { type: "slack", address: "https://chat.example/hooks/x", auth_header: "", skip_cert_verify: false },
      ],
    });
    // Harbor answers the header in clear; a registry may mask it: neither is compared.
    for (const shown of ["Bearer secret-1", "*****", ""]) {
      const targets = (body["targets"] as Array<Record<string, unknown>>).map((target) => ({
        ...target,
        auth_header: shown,
      }));
      const live = {
        ...body,
        id: 3,
        project_id: 1,
        creator: "admin",
        event_types: ["SCANNING_FAILED", "SCANNING_COMPLETED"],
        targets,
      };
      expect(webhookFromHarbor(inputs, live)).toEqual(inputs);
    }
    // An http target stored without a format is Harbor's Default.
    const bare = { ...body, targets: [{ type: "http", address: "https://security.dmz.example/hooks/registry/" }] };
    expect(webhookFromHarbor(inputs, bare).targets[0]).toEqual(inputs.targets[0]);
  });

  it("shows changes made by hand: disabled, another address, an event type dropped, a target added", () => {
    const { inputs } = webhook({
      targets: [{ address: "https://security.dmz.example/hooks/registry" }],
      authHeaders: ["Bearer secret-1"],
      eventTypes: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
    });
    const body = webhookPolicyBody(inputs);
    const read = (change: Record<string, unknown>): WebhookPolicyInputs =>
      webhookFromHarbor(inputs, { ...body, ...change });
    expect(read({ enabled: false }).enabled).toBe(false);
    expect(read({ event_types: ["SCANNING_FAILED"] }).eventTypes).toEqual(["SCANNING_FAILED"]);
    const moved = read({
      targets: [{ type: "http", address: "https://elsewhere.example/x", payload_format: "Default" }],
    });
    expect(moved.targets[0]?.address).toBe("https://elsewhere.example/x");
    const added = read({
      targets: [
        ...(body["targets"] as unknown[]),
        { type: "http", address: "https://extra.example", auth_header: "x" },
      ],
    });
    expect(added.targets).toHaveLength(2);
    expect(added.authHeaders).toEqual(["Bearer secret-1", ""]);
  });

  it("diff: a new project replaces it; a new name, header or header version updates it in place", async () => {
    const { inputs } = webhook({
      targets: [{ address: "https://security.dmz.example/hooks/registry" }],
      authHeaders: ["Bearer secret-1"],
      eventTypes: ["SCANNING_COMPLETED"],
    });
    const olds: WebhookPolicyOutputs = { ...inputs, policyId: 3 };
    const diff = webhookPolicyProvider.diff!;
    expect(await diff("3", olds, inputs)).toMatchObject({ changes: false, replaces: [] });
    expect(await diff("3", olds, { ...inputs, project: "staging" })).toMatchObject({
      changes: true,
      replaces: ["project"],
    });
    for (const change of [{ name: "security-2" }, { authHeaders: ["Bearer secret-2"] }, { authHeaderVersion: 1 }]) {
      expect(await diff("3", olds, { ...inputs, ...change }), JSON.stringify(change)).toMatchObject({
        changes: true,
        replaces: [],
      });
    }
  });
});
