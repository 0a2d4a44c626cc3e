// The dynamic providers' `check` in a preview: any input may arrive as the engine's unknown
// sentinel (a resource's output not known yet), as a whole value or inside a list or object.
// Unknowns pass unchecked and come back as they came; bad known values still fail, naming the
// property. The providers are also checked as the engine runs them: serialised, then loaded.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { runInThisContext } from "node:vm";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { serverProcessProvider } from "../../components/local/server-process";
import { auditPurgeScheduleProvider } from "../../components/registry/audit-purge-schedule";
import { gcScheduleProvider } from "../../components/registry/gc-schedule";
import { immutableTagRuleProvider } from "../../components/registry/immutable-tag-rule";
import { preheatProvider } from "../../components/registry/preheat";
import { memberProvider } from "../../components/registry/project-member";
import { projectProvider } from "../../components/registry/project";
import { endpointProvider } from "../../components/registry/registry-endpoint";
import { retentionPolicyProvider } from "../../components/registry/retention-policy";
import { replicationPolicyProvider } from "../../components/registry/replication-policy";
import { projectAccess, robotProvider } from "../../components/registry/robot-account";
import { userProvider } from "../../components/registry/user";
import { webhookPolicyProvider } from "../../components/registry/webhook-policy";
import { generatedPasswordProvider } from "../../components/secrets/generated-password";
import { checkCaInputs } from "../../components/tls/certificate-authority";
import { tlsCertificateProvider } from "../../components/tls/tls-certificate";
import { UNKNOWN, containsUnknown, isUnknown, keepUnknown } from "../../components/unknowns";

type Inputs = Record<string, unknown>;
type Provider = pulumi.dynamic.ResourceProvider;
interface Checked {
  inputs: Inputs;
  failures: pulumi.dynamic.CheckFailure[];
}

/** Runs a provider's check as the engine does, with no old inputs (a create). */
async function check(provider: Provider, news: Inputs): Promise<Checked> {
  if (!provider.check) throw new Error("the provider has no check");
  const result = await provider.check({}, news);
  return { inputs: (result.inputs ?? {}) as Inputs, failures: result.failures ?? [] };
}

const caProvider: Provider = {
  check: async (_olds, news) => checkCaInputs(news as Inputs),
  create: async () => ({ id: "" }),
};

const connection = { url: "https://localhost:5443", username: "admin", password: "Admin-pass-1", caPem: "CA" };
const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

interface Case {
  /** Valid, complete known inputs. */
  valid: Inputs;
  /** Known values that must fail: [input, value, the property named in the failure]. */
  bad: Array<[string, unknown, string]>;
}

const cases: Record<string, Case & { provider: Provider }> = {
  ServerProcess: {
    provider: serverProcessProvider as Provider,
    valid: {
      nodePath: "/usr/bin/node",
      serverEntry: "/srv/airlock/registry-server/src/main.ts",
      stateDir: "/srv/airlock/state",
      dataDir: "/srv/airlock/data",
      bindAddress: "127.0.0.1",
      port: 5443,
      healthCheckHost: "localhost",
      tlsCertPem: PEM_CERT,
      tlsKeyPem: "-----BEGIN PRIVATE KEY-----",
      caCertPem: PEM_CERT,
      adminUsername: "admin",
      adminPassword: "Admin-pass-1",
      logLevel: "info",
      removeDataOnDelete: false,
      upstream: { httpsProxy: "http://proxy.corp.example:3128" },
      mirror: { defaultProject: "hub" },
    },
    bad: [
      ["port", 70000, "port"],
      ["stateDir", "relative/dir", "stateDir"],
      ["adminPassword", "short", "adminPassword"],
    ],
  },
  CertificateAuthority: {
    provider: caProvider,
    valid: { commonName: "registry local registry CA", validityDays: 3650 },
    bad: [
      ["commonName", "", "commonName"],
      ["validityDays", 0, "validityDays"],
    ],
  },
  TlsCertificate: {
    provider: tlsCertificateProvider as Provider,
    valid: {
      caCertPem: PEM_CERT,
      caKeyPem: "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n",
      commonName: "localhost",
      dnsNames: ["registry.example.test"],
      ipAddresses: ["127.0.0.1", "::1"],
      validityDays: 397,
      renewBeforeDays: 30,
    },
    bad: [
      ["caCertPem", "not a certificate", "caCertPem"],
      ["caKeyPem", "not a key", "caKeyPem"],
      ["commonName", "bad name", "commonName"],
      ["dnsNames", ["bad name"], "dnsNames"],
      ["ipAddresses", ["300.1.1.1"], "ipAddresses"],
      ["renewBeforeDays", 397, "renewBeforeDays"],
    ],
  },
  GeneratedPassword: {
    provider: generatedPasswordProvider as Provider,
    valid: { length: 32, version: 1 },
    bad: [
      ["length", 8, "length"],
      ["version", 1.5, "version"],
    ],
  },
  Project: {
    provider: projectProvider as Provider,
    valid: {
      connection,
      name: "hub",
      public: true,
      metadata: { proxy_speed_kb: "10240", max_upstream_conn: "-1" },
      storageLimit: -1,
      registryId: 3,
      adopt: false,
    },
    bad: [
      ["name", "Hub!", "name"],
      ["public", "yes", "public"],
      ["metadata", { public: "true" }, "metadata"],
      ["metadata", { colour: "blue" }, "metadata"],
      ["storageLimit", -2, "storageLimit"],
      ["registryId", 0, "registryId"],
      ["adopt", "no", "adopt"],
    ],
  },
  ProjectMember: {
    provider: memberProvider as Provider,
    valid: { connection, project: "team", username: "alice", role: "developer", adopt: false },
    bad: [
      ["project", "", "project"],
      ["username", 7, "username"],
      ["role", "owner", "role"],
      ["adopt", 1, "adopt"],
    ],
  },
  User: {
    provider: userProvider as Provider,
    valid: {
      connection,
      username: "alice",
      password: "Alice-pass-1",
      passwordVersion: 1,
      email: "alice@example.test",
      realname: "Alice",
      comment: "",
      adopt: false,
    },
    bad: [
      ["username", "robot$alice", "username"],
      ["password", "weak", "password"],
      ["passwordVersion", 1.5, "passwordVersion"],
      ["email", "not-an-address", "email"],
      ["realname", 42, "realname"],
    ],
  },
  RobotAccount: {
    provider: robotProvider as Provider,
    valid: {
      connection,
      name: "nodes",
      project: "team",
      permissions: projectAccess("team", ["pull", "push"]),
      description: "cluster nodes",
      duration: -1,
      disabled: false,
      secretVersion: 1,
      secret: "Robot-secret-1",
      adopt: false,
    },
    bad: [
      ["name", "Nodes", "name"],
      ["project", "", "project"],
      ["permissions", [], "permissions"],
      ["permissions", projectAccess("other", ["pull"]), "permissions"],
      ["permissions", "pull", "permissions"],
      ["duration", -2, "duration"],
      ["secret", "weak", "secret"],
      ["secretVersion", "2", "secretVersion"],
      ["disabled", "no", "disabled"],
    ],
  },
  RegistryEndpoint: {
    provider: endpointProvider as Provider,
    valid: {
      connection,
      name: "docker-hub",
      type: "docker-hub",
      url: "https://registry-1.docker.io",
      description: "",
      credential: { accessKey: "corp", accessSecret: "dckr_pat_example" },
      credentialVersion: 0,
      insecure: false,
      caCertificate: PEM_CERT,
      adopt: false,
    },
    bad: [
      ["name", "Docker Hub", "name"],
      ["type", "ftp", "type"],
      ["url", "ftp://mirror.example", "url"],
      ["credential", { accessKey: "", accessSecret: "dckr_pat_example" }, "credential"],
      ["credentialVersion", -1, "credentialVersion"],
      ["insecure", "true", "insecure"],
      ["caCertificate", "not PEM", "caCertificate"],
    ],
  },
  Preheat: {
    provider: preheatProvider as Provider,
    valid: {
      connection,
      project: "hub",
      images: ["library/alpine:3.20", "library/nginx:1.27"],
      platforms: ["linux/amd64"],
      timeoutSeconds: 600,
    },
    bad: [
      ["project", "", "project"],
      ["images", [], "images"],
      ["images", ["docker.io/library/nginx:1.27"], "images"],
      ["platforms", ["linux"], "platforms"],
      ["timeoutSeconds", 0, "timeoutSeconds"],
    ],
  },
  RetentionPolicy: {
    provider: retentionPolicyProvider as Provider,
    valid: {
      connection,
      project: "production",
      rules: [{ keepLatestPushed: 10 }, { keepPushedWithinDays: 30, tags: { excludes: "tmp-*" } }],
      schedule: "Daily",
    },
    bad: [
      ["schedule", "0 3 * * 0", "schedule"],
      ["schedule", "fortnightly", "schedule"],
      ["project", "", "project"],
      ["rules", [], "rules"],
      ["rules", [{ keepLatestPushed: 10, keepPushedWithinDays: 30 }], "rules"],
      ["rules", [{ keepLatestPushed: -1 }], "rules"],
      ["rules", [{ always: true, tags: { matches: "[v*" } }], "rules"],
      ["rules", [{ keepLatestPushed: 3 }, { keepLatestPushed: 3, untagged: false }], "rules"],
      ["rules", Array.from({ length: 16 }, (_, n) => ({ keepLatestPushed: n })), "rules"],
    ],
  },
  ImmutableTagRule: {
    provider: immutableTagRuleProvider as Provider,
    valid: {
      connection,
      project: "production",
      repositories: { matches: "apps/**" },
      tags: { matches: "v*" },
      disabled: false,
      adopt: false,
    },
    bad: [
      ["tags", { matches: "" }, "tags"],
      ["tags", { matches: "v*", excludes: "x" }, "tags"],
      ["project", 7, "project"],
      ["repositories", "**", "repositories"],
      ["disabled", "no", "disabled"],
      ["adopt", 1, "adopt"],
    ],
  },
  ReplicationPolicy: {
    provider: replicationPolicyProvider as Provider,
    valid: {
      connection,
      name: "production-to-lyon",
      description: "",
      destinationRegistry: 3,
      destinationNamespace: "production",
      destinationNamespaceReplaceCount: 1,
      trigger: { type: "scheduled", cron: "0 0 2 * * *" },
      filters: { repositories: "production/**", tags: { matches: "v*" }, labels: { matches: ["approved"] } },
      override: true,
      replicateDeletion: true,
      copyByChunk: false,
      speedKbps: 1024,
      enabled: true,
      singleActiveReplication: false,
      runOnCreate: true,
      adopt: false,
    },
    bad: [
      ["trigger", { type: "scheduled", cron: "0 2 * * *" }, "trigger.cron"],
      ["trigger", "hourly-ish", "trigger"],
      ["destinationRegistry", 0, "destinationRegistry"],
      ["destinationRegistry", "Lyon Site", "destinationRegistry"],
      ["filters", { repositories: "production/[**" }, "filters.repositories"],
      ["filters", { tags: { matches: "v*", excludes: "x" } }, "filters.tags"],
      ["filters", { labels: { matches: ["a", "a"] } }, "filters.labels.matches"],
      ["filters", { resource: "chart" }, "filters.resource"],
      ["filters", { names: "x" }, "filters.names"],
      ["destinationNamespace", "Production", "destinationNamespace"],
      ["destinationNamespaceReplaceCount", 128, "destinationNamespaceReplaceCount"],
      ["speedKbps", -2, "speedKbps"],
      ["name", " spaced ", "name"],
      ["enabled", "yes", "enabled"],
    ],
  },
  WebhookPolicy: {
    provider: webhookPolicyProvider as Provider,
    valid: {
      connection,
      project: "production",
      name: "security-team",
      description: "",
      targets: [{ address: "https://security.dmz.example/hooks/registry", type: "http", skipCertVerify: false }],
      authHeaders: ["Bearer webhook-token-1"],
      authHeaderVersion: 0,
      eventTypes: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
      enabled: true,
      adopt: false,
    },
    bad: [
      ["eventTypes", ["SCANNING_DONE"], "eventTypes[0]"],
      ["eventTypes", [], "eventTypes"],
      ["targets", [], "targets"],
      ["targets", [{ address: "https://hooks.example/x?token=1" }], "targets[0].address"],
      ["targets", [{ address: "https://hooks.example", type: "teams" }], "targets[0].type"],
      [
        "targets",
        [{ address: "https://hooks.slack.example", type: "slack", payloadFormat: "Default" }],
        "targets[0].payloadFormat",
      ],
      ["targets", [{ address: "https://hooks.example", authHeader: "Bearer x" }], "targets[0].authHeader"],
      ["authHeaders", ["Bearer\nx"], "targets[0].authHeader"],
      ["authHeaderVersion", -1, "authHeaderVersion"],
      ["project", "", "project"],
    ],
  },
  GarbageCollectionSchedule: {
    provider: gcScheduleProvider as Provider,
    valid: { connection, schedule: "weekly", deleteUntagged: true, workers: 2, dryRun: false },
    bad: [
      ["schedule", "0 0 * * 0", "schedule"],
      ["schedule", "None", "schedule"],
      ["workers", 6, "workers"],
      ["deleteUntagged", "yes", "deleteUntagged"],
    ],
  },
  AuditLogPurgeSchedule: {
    provider: auditPurgeScheduleProvider as Provider,
    valid: {
      connection,
      schedule: "0 30 2 * * *",
      retentionHours: 720,
      includeEventTypes: ["pull_artifact", "create_artifact"],
      dryRun: false,
    },
    bad: [
      ["schedule", "Monthly", "schedule"],
      ["retentionHours", 0, "retentionHours"],
      ["includeEventTypes", [], "includeEventTypes"],
      ["includeEventTypes", ["Pull Artifact"], "includeEventTypes"],
      ["dryRun", 1, "dryRun"],
    ],
  },
};

describe("the unknown sentinel", () => {
  it("is the SDK's", () => {
    expect(UNKNOWN).toBe(pulumi.runtime.unknownValue);
  });

  it("is found as a whole value and inside lists and objects", () => {
    expect(isUnknown(UNKNOWN)).toBe(true);
    expect(isUnknown("04da6b54")).toBe(false);
    expect(isUnknown([UNKNOWN])).toBe(false);
    expect(containsUnknown({ a: [1, { b: UNKNOWN }] })).toBe(true);
    expect(containsUnknown({ a: [1, { b: "x" }], c: null })).toBe(false);
    expect(keepUnknown(UNKNOWN, String)).toBe(UNKNOWN);
    expect(keepUnknown(true, String)).toBe("true");
  });
});

describe.each(Object.entries(cases))("%s check", (_type, { provider, valid, bad }) => {
  it("accepts the valid inputs", async () => {
    expect((await check(provider, valid)).failures).toEqual([]);
  });

  it.each(Object.keys(valid))("passes an unknown %s on unchecked", async (key) => {
    const { inputs, failures } = await check(provider, { ...valid, [key]: UNKNOWN });
    expect(failures).toEqual([]);
    expect(inputs[key]).toBe(UNKNOWN);
  });

  it("passes every input unknown at once", async () => {
    const news = Object.fromEntries(Object.keys(valid).map((key) => [key, UNKNOWN]));
    const { inputs, failures } = await check(provider, news);
    expect(failures).toEqual([]);
    for (const key of Object.keys(valid)) expect(inputs[key], key).toBe(UNKNOWN);
  });

  it.each(bad)("refuses %s = %j, naming %s", async (key, value, property) => {
    const { failures } = await check(provider, { ...valid, [key]: value });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.map((f) => f.property)).toEqual(failures.map(() => property));
  });

  it("still refuses bad known values next to unknown ones", async () => {
    const [key, value, property] = bad[0]!;
    const others = Object.keys(valid).filter((k) => k !== key);
    const news = { ...Object.fromEntries(others.map((k) => [k, UNKNOWN])), [key]: value };
    const { failures } = await check(provider, news);
    expect(failures.map((f) => f.property)).toEqual([property]);
  });
});

describe("unknowns inside values", () => {
  it("TlsCertificate checks the known names of a list and keeps its unknown items", async () => {
    const { valid } = cases["TlsCertificate"]!;
    const { inputs, failures } = await check(tlsCertificateProvider as Provider, {
      ...valid,
      dnsNames: [UNKNOWN, "bad name"],
      ipAddresses: ["127.0.0.1", UNKNOWN],
    });
    expect(failures).toEqual([{ property: "dnsNames", reason: '"bad name" is not a DNS name' }]);
    expect(inputs["dnsNames"]).toEqual([UNKNOWN, "bad name"]);
    expect(inputs["ipAddresses"]).toEqual(["127.0.0.1", UNKNOWN]);
  });

  it("Project keeps an unknown metadata value and still normalises the known ones to strings", async () => {
    const { valid } = cases["Project"]!;
    const { inputs, failures } = await check(projectProvider as Provider, {
      ...valid,
      metadata: { proxy_speed_kb: UNKNOWN, max_upstream_conn: 8, colour: UNKNOWN },
    });
    expect(failures.map((f) => f.property)).toEqual(["metadata"]);
    expect(inputs["metadata"]).toEqual({ proxy_speed_kb: UNKNOWN, max_upstream_conn: "8" });
  });

  it("RobotAccount keeps permissions holding an unknown as they are, unsorted", async () => {
    const { valid } = cases["RobotAccount"]!;
    const permissions = [{ kind: "project", namespace: UNKNOWN, access: [{ resource: "repository", action: "push" }] }];
    const { inputs, failures } = await check(robotProvider as Provider, { ...valid, permissions });
    expect(failures).toEqual([]);
    expect(inputs["permissions"]).toEqual(permissions);
    // A known list is sorted, so that the registry's order never shows as a diff.
    const sorted = await check(robotProvider as Provider, valid);
    expect((sorted.inputs["permissions"] as Array<{ access: unknown }>)[0]?.access).toEqual([
      { resource: "repository", action: "pull" },
      { resource: "repository", action: "push" },
    ]);
  });

  it("RegistryEndpoint keeps an unknown credential field and never echoes the secret", async () => {
    const { valid } = cases["RegistryEndpoint"]!;
    const unknownKey = await check(endpointProvider as Provider, {
      ...valid,
      credential: { accessKey: UNKNOWN, accessSecret: "dckr_pat_example" },
    });
    expect(unknownKey.failures).toEqual([]);
    expect(unknownKey.inputs["credential"]).toEqual({ accessKey: UNKNOWN, accessSecret: "dckr_pat_example" });
    const bad = await check(endpointProvider as Provider, {
      ...valid,
      credential: { accessKey: "", accessSecret: "dckr_pat_example" },
    });
    expect(JSON.stringify(bad.failures)).not.toContain("dckr_pat_example");
    // A known URL loses its trailing slash, as the registry keeps it.
    const slash = await check(endpointProvider as Provider, { ...valid, url: "https://quay.io/" });
    expect(slash.inputs["url"]).toBe("https://quay.io");
  });

  it("Preheat sorts a known list but keeps one with unknown items as given (two unknowns may differ)", async () => {
    const { valid } = cases["Preheat"]!;
    const images = [UNKNOWN, "library/nginx:1.27", UNKNOWN, "docker.io/x"];
    const { inputs, failures } = await check(preheatProvider as Provider, { ...valid, images });
    expect(failures.map((f) => f.property)).toEqual(["images"]);
    expect(inputs["images"]).toEqual(images);
    const known = await check(preheatProvider as Provider, {
      ...valid,
      images: ["library/nginx:1.27", "library/alpine:3.20", "library/nginx:1.27"],
    });
    expect(known.inputs["images"]).toEqual(["library/alpine:3.20", "library/nginx:1.27"]);
  });
});

describe("diff with unknown inputs", () => {
  it("TlsCertificate: an unknown CA or renewal window may re-issue the certificate", async () => {
    const { valid } = cases["TlsCertificate"]!;
    const olds = {
      ...valid,
      certPem: PEM_CERT,
      keyPem: "KEY",
      notAfter: new Date(Date.now() + 300 * 86_400_000).toISOString(),
    };
    const diff = tlsCertificateProvider.diff!;
    expect(await diff("id", olds as never, valid as never)).toMatchObject({ changes: false, replaces: [] });
    expect(await diff("id", olds as never, { ...valid, caCertPem: UNKNOWN } as never)).toMatchObject({
      changes: true,
      replaces: ["caCertPem"],
    });
    expect(await diff("id", olds as never, { ...valid, renewBeforeDays: UNKNOWN } as never)).toMatchObject({
      changes: true,
      replaces: ["notAfter"],
    });
  });

  it("Project: an unknown endpoint id may replace the project; an unknown connection may update it", async () => {
    const { valid } = cases["Project"]!;
    const news = (await check(projectProvider as Provider, valid)).inputs;
    const olds = { ...news, projectId: 7 };
    const diff = projectProvider.diff!;
    expect(await diff("7", olds as never, news as never)).toMatchObject({ changes: false, replaces: [] });
    expect(await diff("7", olds as never, { ...news, registryId: UNKNOWN } as never)).toMatchObject({
      changes: true,
      replaces: ["registryId"],
    });
    expect(await diff("7", olds as never, { ...news, connection: UNKNOWN } as never)).toMatchObject({
      changes: true,
      replaces: [],
    });
  });
});

describe("the providers as the engine runs them", () => {
  // What `check` runs is the provider's serialised text, loaded back: the unknown test must
  // travel with it, and the SDK must not.
  const load = async (provider: Provider): Promise<Provider> => {
    const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    expect(text).not.toMatch(/@pulumi\/pulumi/);
    const module = { exports: {} as { handler?: () => Provider } };
    const projectRequire = createRequire(path.join(__dirname, "..", "..", "package.json"));
    // Loaded as a CommonJS module, which is how the engine's dynamic provider host loads it.
    const wrapper = runInThisContext(`(function (exports, require, module) {\n${text}\n})`) as (
      exports: object,
      require: NodeJS.Require,
      module: object,
    ) => void;
    wrapper(module.exports, projectRequire, module);
    const handler = module.exports.handler;
    if (!handler) throw new Error("the serialised provider has no handler");
    return handler();
  };

  it.each(Object.entries(cases))(
    "%s: unknowns pass, bad known values fail",
    async (_type, { provider, valid, bad }) => {
      const loaded = await load(provider);
      const news = Object.fromEntries(Object.keys(valid).map((key) => [key, UNKNOWN]));
      expect((await check(loaded, news)).failures).toEqual([]);
      const [key, value, property] = bad[0]!;
      expect((await check(loaded, { ...valid, [key]: value })).failures.map((f) => f.property)).toContain(property);
    },
  );

  it("carry the modules they share by value: the configuration's renderer, the project-name rule", async () => {
    const serialised = async (provider: Provider): Promise<string> =>
      (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
    const local = await serialised(serverProcessProvider as Provider);
    expect(local).toContain("/*renderServerConfig*/");
    expect(local).not.toMatch(/zod/);
    const project = await serialised(projectProvider as Provider);
    expect(project).toContain('new RegExp("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", "")');
  });

  it("report a failed API call with its message, as an Error the engine can print", async () => {
    // A registry that refuses everything with Harbor's error JSON.
    const server = createServer((_req, res) => {
      res.writeHead(412, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "PRECONDITION", message: "the project still has repositories" }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const loaded = await load(projectProvider as Provider);
      const connection = { url: `http://127.0.0.1:${port}`, username: "admin", password: "pw" };
      const failure = await loaded.delete!("7", { connection, name: "team", purgeOnDelete: false }).then(
        () => undefined,
        (err: unknown) => err,
      );
      // The engine prints `${err}`; an Error subclass serialised with the provider lost its
      // prototype and printed "[object Object]" ("Unknown Error" in the CLI).
      expect(failure).toBeInstanceOf(Error);
      expect(String(failure)).toBe(
        "Error: deleting project team failed: PRECONDITION: the project still has repositories",
      );
      expect((failure as { status?: number }).status).toBe(412);
    } finally {
      server.close();
    }
  });
});
