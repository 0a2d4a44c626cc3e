// The LocalRegistry component's resource graph, with Pulumi's mocks (no engine, nothing runs).
// Registering each dynamic resource also serialises its provider, which proves the providers
// capture nothing that cannot be stored in the state.

import { existsSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LocalRegistry } from "../../components/local/local-registry";
import { DeclaredContent } from "../../components/registry/declared-content";
import { DeclaredProxyCache } from "../../components/registry/declared-proxy-cache";
import { DeclaredReplication } from "../../components/registry/declared-replication";
import { type Registered, SECRET_SIG, outputOf, plain, settled } from "./mocked-resources";

let registered: Registered[] = [];

function inputsOf(type: string): Record<string, unknown> {
  const found = registered.find((r) => r.type.endsWith(type));
  if (!found) throw new Error(`no ${type} registered; got ${registered.map((r) => r.type).join(", ")}`);
  return found.inputs;
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        const outputs: Record<string, unknown> = { ...inputs };
        if (args.type.endsWith("CertificateAuthority")) Object.assign(outputs, { certPem: "CA-PEM", keyPem: "CA-KEY" });
        if (args.type.endsWith("TlsCertificate")) Object.assign(outputs, { certPem: "CERT-PEM", keyPem: "CERT-KEY" });
        if (args.type.endsWith("GeneratedPassword")) Object.assign(outputs, { value: "generated-password" });
        if (args.type.endsWith("ServerProcess")) Object.assign(outputs, { pid: 4242, running: true });
        if (args.type.endsWith("RobotAccount"))
          Object.assign(outputs, { fullName: "robot$production+nodes", robotSecret: "s3cret" });
        if (args.type.endsWith("RegistryEndpoint")) Object.assign(outputs, { registryId: 4 });
        if (args.type.endsWith("ReplicationPolicy")) Object.assign(outputs, { policyId: 9 });
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    "airlock",
    "unit",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

describe("LocalRegistry resource graph", () => {
  it("generates a CA, a certificate, a password, and runs the bundled server with them", async () => {
    const registry = new LocalRegistry("r1", { port: 6001, stateDir: "/srv/airlock" });
    // The server depends on everything else: once its pid resolves, the whole graph is registered.
    expect(await outputOf(registry.pid)).toBe(4242);

    expect(await outputOf(registry.url)).toBe("https://localhost:6001");
    expect(await outputOf(registry.adminPassword)).toBe("generated-password");
    expect(await pulumi.isSecret(registry.adminPassword)).toBe(true);
    expect(await outputOf(registry.caCertPem)).toBe("CA-PEM");
    expect(await outputOf(registry.dataDir)).toBe("/srv/airlock/data");

    expect(await outputOf(registry.connection)).toEqual({
      url: "https://localhost:6001",
      username: "admin",
      password: "generated-password",
      caPem: "CA-PEM",
    });
    expect(await pulumi.isSecret(registry.connection)).toBe(true);
    expect(registered.map((r) => r.type).sort()).toEqual([
      "airlock:local:LocalRegistry",
      "pulumi-nodejs:dynamic/local:ServerProcess",
      "pulumi-nodejs:dynamic/secrets:GeneratedPassword",
      "pulumi-nodejs:dynamic/tls:CertificateAuthority",
      "pulumi-nodejs:dynamic/tls:TlsCertificate",
    ]);
    expect(inputsOf("TlsCertificate")).toMatchObject({
      caCertPem: "CA-PEM",
      caKeyPem: "CA-KEY",
      commonName: "localhost",
      ipAddresses: ["127.0.0.1", "::1"],
    });
    const server = inputsOf("ServerProcess");
    expect(server).toMatchObject({
      port: 6001,
      bindAddress: "127.0.0.1",
      stateDir: "/srv/airlock",
      dataDir: "/srv/airlock/data",
      tlsCertPem: "CERT-PEM",
      tlsKeyPem: "CERT-KEY",
      caCertPem: "CA-PEM",
      adminUsername: "admin",
      adminPassword: "generated-password",
      removeDataOnDelete: false,
    });
    expect(existsSync(server["serverEntry"] as string)).toBe(true);
    expect(path.isAbsolute(server["nodePath"] as string)).toBe(true);
    expect(typeof server["__provider"]).toBe("string");
  });

  it("uses a given password, adds a specific bind address to the certificate and names the URL after it", async () => {
    const registry = new LocalRegistry("r2", {
      port: 6002,
      bindAddress: "192.0.2.10",
      stateDir: "/srv/r2",
      dataDir: "/data/r2",
      adminPassword: "given-password-123",
    });
    await outputOf(registry.pid);
    expect(await outputOf(registry.url)).toBe("https://192.0.2.10:6002");
    expect(await pulumi.isSecret(registry.adminPassword)).toBe(true);
    expect(registered.some((r) => r.type.endsWith("GeneratedPassword"))).toBe(false);
    expect(inputsOf("TlsCertificate")["ipAddresses"]).toEqual(["127.0.0.1", "::1", "192.0.2.10"]);
    // A given password reaches the server resource as a secret (the mocks see the secret envelope).
    expect(inputsOf("ServerProcess")).toMatchObject({
      dataDir: "/data/r2",
      adminPassword: expect.objectContaining({ value: "given-password-123" }) as unknown,
    });
  });

  it("names the first host name in the URL when listening on every address", async () => {
    const registry = new LocalRegistry("r3", {
      port: 6003,
      bindAddress: "0.0.0.0",
      hostnames: ["registry.dmz.example.test"],
      stateDir: "/srv/r3",
    });
    await outputOf(registry.pid);
    expect(await outputOf(registry.url)).toBe("https://registry.dmz.example.test:6003");
    expect(inputsOf("TlsCertificate")).toMatchObject({
      dnsNames: ["registry.dmz.example.test"],
      ipAddresses: ["127.0.0.1", "::1"],
    });
  });
});

describe("DeclaredContent resource graph", () => {
  it("declares users, projects, members and robots, each with the connection as a secret", async () => {
    const connection = { url: "https://registry.test:5443", username: "admin", password: "pw", caPem: "CA" };
    const content = new DeclaredContent("c", {
      connection,
      users: [{ username: "alice", password: "Alice-pass-1", passwordVersion: 1, email: "", realname: "" }],
      projects: [
        {
          name: "production",
          public: false,
          storageLimit: 1024,
          metadata: {},
          autoScan: true,
          preventVulnerable: "high",
          requireSignature: true,
          members: [{ username: "alice", role: "developer" }],
          robots: [{ name: "nodes", actions: ["pull"], description: "cluster nodes", duration: -1, secretVersion: 1 }],
        },
      ],
      systemCveAllowlist: { items: ["CVE-2024-3094"] },
      scanners: [{ name: "clair", url: "http://clair:8080", auth: "Bearer", accessCredential: "clair-token" }],
    });
    const robot = content.robots["production/nodes"];
    expect(robot).toBeDefined();
    await outputOf(robot!.username);

    expect(registered.map((r) => r.type).sort()).toEqual([
      "airlock:registry:DeclaredContent",
      "pulumi-nodejs:dynamic/registry:Project",
      "pulumi-nodejs:dynamic/registry:ProjectMember",
      "pulumi-nodejs:dynamic/registry:RobotAccount",
      "pulumi-nodejs:dynamic/registry:Scanner",
      "pulumi-nodejs:dynamic/registry:SystemCveAllowlist",
      "pulumi-nodejs:dynamic/registry:User",
    ]);
    expect(inputsOf("Project")).toMatchObject({ autoScan: true, preventVulnerable: "high", requireSignature: true });
    const robotInputs = inputsOf("RobotAccount");
    expect(robotInputs).toMatchObject({
      name: "nodes",
      permissions: [{ kind: "project", namespace: "production", access: [{ resource: "repository", action: "pull" }] }],
    });
    // Serialising each provider is part of registering it; the connection travels as a secret.
    for (const type of ["Project", "ProjectMember", "RobotAccount", "User", "Scanner", "SystemCveAllowlist"]) {
      const inputs = inputsOf(type);
      expect(typeof inputs["__provider"], type).toBe("string");
      expect(inputs["connection"], type).toEqual(expect.objectContaining({ value: connection }));
    }
    expect(inputsOf("User")["password"]).toEqual(expect.objectContaining({ value: "Alice-pass-1" }));
    // Each says which stack declared it and its own URN, for the registry to record.
    for (const found of registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/registry:"))) {
      expect(found.inputs["declaration"], found.name).toEqual({
        stack: "organization/airlock/unit",
        resource: `urn:pulumi:unit::airlock::airlock:registry:DeclaredContent$${found.type}::${found.name}`,
      });
    }
    expect(inputsOf("Scanner")["accessCredential"]).toEqual(expect.objectContaining({ value: "clair-token" }));
  });
});

describe("DeclaredProxyCache resource graph", () => {
  it("declares endpoints, proxy projects on them, their robots and preheat lists; credentials stay secret", async () => {
    const connection = { url: "https://registry.test:5443", username: "admin", password: "pw", caPem: "CA" };
    const cache = new DeclaredProxyCache("p", {
      connection,
      registries: [
        {
          name: "dockerhub",
          type: "docker-hub",
          url: "https://hub.docker.com",
          description: "",
          credential: { accessKey: "dmz", accessSecret: "hub-token" },
          credentialVersion: 2,
          insecure: false,
        },
      ],
      proxyProjects: [
        {
          name: "dockerhub",
          registry: "dockerhub",
          public: true,
          speedKbps: 8000,
          maxUpstreamConnections: 4,
          storageLimit: -1,
          autoScan: true,
          preheat: { images: ["library/nginx:1.25"], platforms: ["linux/amd64"] },
          members: [],
          robots: [{ name: "nodes", actions: ["pull"], description: "", duration: 30, secretVersion: 1 }],
        },
      ],
    });
    await outputOf(cache.preheated["dockerhub"]!);
    await outputOf(cache.robots["dockerhub/nodes"]!.username);
    await settled(registered);

    expect(registered.map((r) => r.type).sort()).toEqual([
      "airlock:registry:DeclaredProxyCache",
      "pulumi-nodejs:dynamic/registry:Preheat",
      "pulumi-nodejs:dynamic/registry:ProxyProject",
      "pulumi-nodejs:dynamic/registry:RegistryEndpoint",
      "pulumi-nodejs:dynamic/registry:RetentionPolicy",
      "pulumi-nodejs:dynamic/registry:RobotAccount",
    ]);
    // The cache scans what it fetches; its proxy settings stay Harbor's metadata.
    expect(plain(inputsOf("ProxyProject"))).toMatchObject({
      autoScan: true,
      metadata: { proxy_speed_kb: "8000", max_upstream_conn: "4" },
    });
    // The cache's expiry, Harbor's 7 days when the stack does not say: the project's retention policy.
    expect(plain(inputsOf("RetentionPolicy"))).toMatchObject({
      project: "dockerhub",
      schedule: "0 0 0 * * *",
      rules: [
        {
          keepPulledWithinDays: 7,
          repositories: { matches: "**" },
          tags: { matches: "**" },
          untagged: true,
          disabled: false,
        },
      ],
    });
    expect(inputsOf("RegistryEndpoint")).toMatchObject({ name: "dockerhub", type: "docker-hub", credentialVersion: 2 });
    expect(inputsOf("RegistryEndpoint")["credential"]).toEqual(
      expect.objectContaining({ value: { accessKey: "dmz", accessSecret: "hub-token" } }),
    );
    expect(inputsOf("ProxyProject")).toMatchObject({
      name: "dockerhub",
      public: true,
      metadata: { proxy_speed_kb: "8000", max_upstream_conn: "4" },
    });
    expect(inputsOf("Preheat")).toMatchObject({ images: ["library/nginx:1.25"], platforms: ["linux/amd64"] });
    for (const type of ["RegistryEndpoint", "ProxyProject", "Preheat", "RobotAccount", "RetentionPolicy"]) {
      expect(typeof inputsOf(type)["__provider"], type).toBe("string");
    }
  });
});

describe("DeclaredContent lifecycle resources", () => {
  it("declares a project's retention policy and immutable rules, and the registry's GC and purge schedules", async () => {
    const connection = { url: "https://registry.test:5443", username: "admin", password: "pw", caPem: "CA" };
    new DeclaredContent("c", {
      connection,
      users: [],
      projects: [
        {
          name: "production",
          public: false,
          storageLimit: -1,
          metadata: {},
          members: [],
          robots: [],
          retention: { schedule: "Daily", rules: [{ keepLatestPushed: 10 }, { keepPushedWithinDays: 30 }] },
          immutableTags: [
            { tags: { matches: "v*" } },
            { repositories: { excludes: "sandbox/**" }, tags: { matches: "release-*" } },
          ],
        },
      ],
      garbageCollection: { schedule: "Weekly", deleteUntagged: true },
      auditLogPurge: { schedule: "Daily", retentionHours: 720, includeEventTypes: ["pull_artifact"] },
    });
    await settled(registered);

    const byType = (type: string) => registered.filter((r) => r.type === `pulumi-nodejs:dynamic/registry:${type}`);
    expect(byType("RetentionPolicy").map((r) => r.name)).toEqual(["c-retention-production"]);
    expect(plain(byType("RetentionPolicy")[0]?.inputs)).toMatchObject({
      project: "production",
      schedule: "Daily",
      rules: [{ keepLatestPushed: 10 }, { keepPushedWithinDays: 30 }],
    });
    // Rules are named after what they select, never their index: removing one renames no other.
    expect(byType("ImmutableTagRule").map((r) => r.name)).toEqual([
      "c-immutable-production-**-v*",
      "c-immutable-production-!sandbox/**-release-*",
    ]);
    expect(plain(byType("ImmutableTagRule")[1]?.inputs)).toMatchObject({
      project: "production",
      repositories: { excludes: "sandbox/**" },
      tags: { matches: "release-*" },
      disabled: false,
    });
    expect(byType("GarbageCollectionSchedule").map((r) => r.name)).toEqual(["c-gc-schedule"]);
    expect(plain(byType("GarbageCollectionSchedule")[0]?.inputs)).toMatchObject({
      schedule: "Weekly",
      deleteUntagged: true,
    });
    expect(byType("AuditLogPurgeSchedule").map((r) => r.name)).toEqual(["c-audit-purge-schedule"]);
    for (const type of ["RetentionPolicy", "ImmutableTagRule", "GarbageCollectionSchedule", "AuditLogPurgeSchedule"]) {
      for (const resource of byType(type)) {
        // Registering serialised the provider; the connection travels as a secret.
        expect(typeof resource.inputs["__provider"], type).toBe("string");
        expect(resource.inputs["connection"], type).toEqual(expect.objectContaining({ value: connection }));
      }
    }
  });
});

describe("DeclaredContent webhooks and DeclaredReplication", () => {
  const connection = { url: "https://registry.test:5443", username: "admin", password: "pw", caPem: "CA" };

  it("declares a project's webhook policies with the auth headers as one secret, the targets readable", async () => {
    new DeclaredContent("c", {
      connection,
      users: [],
      projects: [
        {
          name: "production",
          public: false,
          storageLimit: -1,
          metadata: {},
          members: [],
          robots: [],
          webhooks: [
            {
              name: "security-team",
              description: undefined,
              targets: [
                { address: "https://security.dmz.test/hooks/registry", authHeader: "Bearer hook-token" },
                { address: "https://chat.test/hooks/x", type: "slack", authHeader: undefined },
              ],
              eventTypes: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
              enabled: undefined,
            },
          ],
        },
      ],
    });
    await settled(registered);
    const webhooks = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/registry:WebhookPolicy");
    expect(webhooks.map((r) => r.name)).toEqual(["c-webhook-production-security-team"]);
    const inputs = webhooks[0]!.inputs;
    expect(typeof inputs["__provider"]).toBe("string");
    expect(inputs["connection"]).toEqual(expect.objectContaining({ value: connection }));
    // The headers left the targets for a top-level secret; the addresses are not secret.
    expect(inputs["authHeaders"]).toEqual(
      expect.objectContaining({ [SECRET_SIG]: expect.anything() as unknown, value: ["Bearer hook-token", ""] }),
    );
    expect(inputs["targets"]).toEqual([
      { address: "https://security.dmz.test/hooks/registry" },
      { address: "https://chat.test/hooks/x", type: "slack" },
    ]);
    expect(inputs).toMatchObject({ project: "production", name: "security-team" });
    // Fields left undefined are left out, for the provider's defaults.
    expect(Object.keys(inputs)).not.toContain("enabled");
    expect(Object.keys(inputs)).not.toContain("description");
  });

  it("declares each replication policy with its endpoint's id, or its name when the stack does not declare it", async () => {
    const replication = new DeclaredReplication("r", {
      connection,
      registryIds: { lyon: pulumi.output(4) },
      replications: [
        {
          name: "to-lyon",
          destinationRegistry: "lyon",
          trigger: { type: "eventBased" },
          filters: { repositories: "production/**", tags: { matches: "v*" } },
          replicateDeletion: true,
          runOnCreate: true,
          description: undefined,
        },
        { name: "from-paris", sourceRegistry: "paris" },
      ],
    });
    expect(await outputOf(replication.policyIds["to-lyon"]!)).toBe(9);
    await settled(registered);
    // In the order their inputs resolve: by name.
    const policies = registered
      .filter((r) => r.type === "pulumi-nodejs:dynamic/registry:ReplicationPolicy")
      .sort((a, b) => b.name.localeCompare(a.name));
    expect(policies.map((r) => r.name)).toEqual(["r-replication-to-lyon", "r-replication-from-paris"]);
    expect(plain(policies[0]!.inputs)).toMatchObject({
      name: "to-lyon",
      destinationRegistry: 4,
      trigger: { type: "eventBased" },
      filters: { repositories: "production/**", tags: { matches: "v*" } },
      replicateDeletion: true,
      runOnCreate: true,
    });
    expect(Object.keys(policies[0]!.inputs)).not.toContain("description");
    expect(plain(policies[1]!.inputs)).toMatchObject({ name: "from-paris", sourceRegistry: "paris" });
    for (const policy of policies) {
      expect(typeof policy.inputs["__provider"]).toBe("string");
      expect(policy.inputs["connection"]).toEqual(expect.objectContaining({ value: connection }));
    }
  });
});
