import { describe, expect, it } from "vitest";
import { parseStackConfig, StackConfigError } from "../../components/stack-config";

function parse(entries: Record<string, string>, secretKeys?: string[]) {
  return parseStackConfig(entries, secretKeys ? new Set(secretKeys) : undefined);
}

function errorOf(entries: Record<string, string>, secretKeys?: string[]): string {
  try {
    parse(entries, secretKeys);
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return (err as Error).message;
  }
  throw new Error("expected the configuration to be refused");
}

describe("stack configuration", () => {
  it("fills every default for an empty stack", () => {
    const { config, warnings } = parse({});
    expect(config).toEqual({
      target: "local",
      local: { port: 5443, bindAddress: "127.0.0.1", hostnames: [], logLevel: "info", removeDataOnDestroy: false },
      adminUsername: "admin",
      users: [],
      projects: [],
      upstream: {},
      mirror: { namespaces: {}, hosts: {} },
      registries: [],
      proxyProjects: [],
      scanners: [],
      replications: [],
      kubernetes: {
        imagePullPolicy: "IfNotPresent",
        imagePullSecrets: [],
        namespace: "airlock",
        createNamespace: true,
        replicas: 1,
        port: 5443,
        logLevel: "info",
        storage: { type: "filesystem", size: "100Gi" },
        metadata: { type: "sqlite" },
        tls: { dnsNames: [] },
        resources: { requests: {}, limits: {} },
        monitoring: {
          serviceMonitor: false,
          prometheusRule: false,
          labels: {},
          interval: "30s",
          diskUsageRatio: 0.85,
          apiErrorsPerSecond: 0.1,
          upstreamErrorsPerSecond: 0.05,
          quotaUsageRatio: 0.9,
          databaseMaxAgeDays: 7,
          scanFailuresPerHour: 0,
          criticalVulnerabilityProjects: ["production"],
        },
      },
      aws: {
        availabilityZones: [],
        vpcCidr: "10.80.0.0/16",
        replicas: 1,
        cpu: 1024,
        memory: 2048,
        architecture: "X86_64",
        port: 5443,
        logLevel: "info",
        storage: { type: "s3", noncurrentVersionDays: 30, abortIncompleteUploadDays: 7, forceDestroy: false },
        metadata: { type: "rds", multiAz: false, backupRetentionDays: 7, deletionProtection: true },
        tls: {},
        zones: { internet: { endpoints: {} }, proxy: { egressProxyCidrs: [] }, production: { cidrs: [] } },
        interfaceEndpoints: true,
        logRetentionDays: 90,
        tags: {},
      },
    });
    expect(warnings).toEqual([]);
  });

  it("requires the AWS target's image, region, zones and load balancer, and hides a database URL it refuses", () => {
    const message = errorOf({
      "airlock:target": "aws",
      "airlock:aws": JSON.stringify({ metadata: { type: "postgres", url: "mysql://u:hunter2@db", cidrs: [] } }),
    });
    for (const key of ["image", "region", "availabilityZones", "loadBalancer", "metadata.url", "metadata.cidrs"]) {
      expect(message).toContain(`airlock:aws.${key}:`);
    }
    expect(message).not.toContain("hunter2");
  });

  it("reads registry endpoints, proxy projects with preheat lists, egress and mirror settings", () => {
    const { config } = parse({
      "airlock:upstream": JSON.stringify({ httpsProxy: "http://proxy.corp:3128", noProxy: ".corp" }),
      "airlock:registries": JSON.stringify([
        { name: "dockerhub", type: "docker-hub", url: "https://hub.docker.com" },
        {
          name: "ecr",
          type: "aws-ecr",
          url: "https://1.dkr.ecr.eu-west-3.amazonaws.com",
          credential: { accessKey: "AKIA", accessSecret: "s" },
        },
      ]),
      "airlock:proxyProjects": JSON.stringify([
        { name: "dockerhub", registry: "dockerhub", public: true, preheat: { images: ["library/nginx:1.25"] } },
      ]),
      "airlock:mirror": JSON.stringify({ defaultProject: "dockerhub", namespaces: { "docker.io": "dockerhub" } }),
    });
    expect(config.registries[0]).toMatchObject({
      name: "dockerhub",
      credentialVersion: 0,
      insecure: false,
      description: "",
    });
    expect(config.proxyProjects[0]).toMatchObject({
      speedKbps: -1,
      maxUpstreamConnections: -1,
      expiryDays: 7,
      preheat: { images: ["library/nginx:1.25"], platforms: [] },
    });
    expect(config.upstream.httpsProxy).toBe("http://proxy.corp:3128");
  });

  it("refuses a proxy project or a mirror rule that names nothing declared, naming the key", () => {
    expect(() =>
      parse({
        "airlock:registries": JSON.stringify([{ name: "quay", type: "quay", url: "https://quay.io" }]),
        "airlock:proxyProjects": JSON.stringify([{ name: "dockerhub", registry: "hub" }]),
        "airlock:mirror": JSON.stringify({ namespaces: { "docker.io": "hubb" } }),
      }),
    ).toThrow(
      /airlock:proxyProjects\[0\]\.registry: no entry of airlock:registries is named "hub"[\s\S]*airlock:mirror\.namespaces\.docker\.io: "hubb" is not one of airlock:proxyProjects/,
    );
    expect(() =>
      parse({ "airlock:registries": JSON.stringify([{ name: "x", type: "gitlab", url: "https://x" }]) }),
    ).toThrow(/airlock:registries\[0\]\.type/);
  });

  it("never echoes a registry credential in an error", () => {
    let message = "";
    try {
      parse({
        "airlock:registries": JSON.stringify([
          {
            name: "x",
            type: "quay",
            url: "https://quay.io",
            credential: { accessKey: "k", accessSecret: "hunter2", extra: 1 },
          },
        ]),
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/airlock:registries\[0\]\.credential/);
    expect(message).not.toContain("hunter2");
  });

  it("reads structured values that Pulumi hands over as JSON text", () => {
    const { config } = parse({
      "airlock:local": JSON.stringify({ port: 6000, hostnames: ["registry.example.test"], removeDataOnDestroy: true }),
      "airlock:adminUsername": "root",
      "airlock:adminPassword": "correct-horse-battery",
    });
    expect(config.local.port).toBe(6000);
    expect(config.local.hostnames).toEqual(["registry.example.test"]);
    expect(config.local.removeDataOnDestroy).toBe(true);
    expect(config.adminUsername).toBe("root");
    expect(config.adminPassword).toBe("correct-horse-battery");
  });

  it("ignores other namespaces", () => {
    expect(() => parse({ "aws:region": "eu-west-3", "pulumi:tags": "{}" })).not.toThrow();
  });

  it("names the key, the value and what was expected for a bad value", () => {
    const message = errorOf({ "airlock:local": JSON.stringify({ port: 70000 }) });
    expect(message).toContain("airlock:local.port");
    expect(message).toContain("70000");
    expect(message).toContain("airlock:local.port: expected a port from 1 to 65535 (got 70000)");
  });

  it("reports every problem at once, with paths into lists", () => {
    const message = errorOf({
      "airlock:target": "moon",
      "airlock:local": JSON.stringify({ bindAddress: "localhost", hostnames: ["ok.test", "not a name"] }),
    });
    expect(message).toContain(
      'airlock:target: Invalid option: expected one of "local"|"kubernetes"|"aws" (got "moon")',
    );
    expect(message).toContain('airlock:local.bindAddress: expected an IP address (got "localhost")');
    expect(message).toContain('airlock:local.hostnames[1]: expected a DNS name (got "not a name")');
  });

  it("refuses unknown keys so that typos do not pass silently", () => {
    expect(errorOf({ "airlock:adminUsrname": "x" })).toContain("airlock:adminUsrname: unknown key");
    expect(errorOf({ "airlock:local": JSON.stringify({ prot: 1 }) })).toContain("airlock:local.prot: unknown key");
  });

  it("refuses a scalar where an object is expected", () => {
    expect(errorOf({ "airlock:local": "5443" })).toContain(
      'airlock:local: Invalid input: expected object, received string (got "5443")',
    );
  });

  it("never echoes a secret value", () => {
    const message = errorOf({ "airlock:adminPassword": "short" }, ["airlock:adminPassword"]);
    expect(message).toContain("airlock:adminPassword: expected at least 12 characters (got [secret])");
    expect(message).not.toContain("short");
  });

  it("reads users and projects with their members and robots, filling defaults", () => {
    const { config } = parse({
      "airlock:users": JSON.stringify([{ username: "alice", password: "Alice-pass-1" }]),
      "airlock:projects": JSON.stringify([
        {
          name: "production",
          members: [{ username: "alice", role: "developer" }],
          robots: [{ name: "nodes", actions: ["pull"] }],
        },
      ]),
    });
    expect(config.users).toEqual([
      { username: "alice", password: "Alice-pass-1", passwordVersion: 1, email: "", realname: "" },
    ]);
    expect(config.projects).toEqual([
      {
        name: "production",
        public: false,
        storageLimit: -1,
        metadata: {},
        members: [{ username: "alice", role: "developer" }],
        robots: [{ name: "nodes", actions: ["pull"], description: "", duration: -1, secretVersion: 1 }],
        immutableTags: [],
        webhooks: [],
        // The security gate, all off.
        autoScan: false,
        preventVulnerable: false,
        preventStaleScan: false,
        reuseSystemCveAllowlist: false,
        autoSbom: false,
        requireSignature: false,
        trustedKeys: [],
      },
    ]);
  });

  it("reads a project's retention policy and immutable rules, and the GC and audit purge schedules, normalised", () => {
    const { config } = parse({
      "airlock:projects": JSON.stringify([
        {
          name: "production",
          retention: {
            schedule: "weekly",
            rules: [
              { keepLatestPulled: 5, tags: { excludes: "tmp-*" }, untagged: true },
              { always: true, tags: { matches: "v*" } },
            ],
          },
          immutableTags: [{ repositories: { matches: "apps/**" }, tags: { matches: "v*" } }],
        },
      ]),
      "airlock:garbageCollection": JSON.stringify({ schedule: "0 0 2 * * sat", workers: 3 }),
      "airlock:auditLogPurge": JSON.stringify({
        schedule: "Daily",
        retentionHours: 720,
        includeEventTypes: ["pull_artifact"],
      }),
    });
    expect(config.projects[0]?.retention).toEqual({
      schedule: "0 0 0 * * 0",
      rules: [
        { keepLatestPulled: 5, tags: { excludes: "tmp-*" }, untagged: true, disabled: false },
        { always: true, tags: { matches: "v*" }, untagged: false, disabled: false },
      ],
    });
    expect(config.projects[0]?.immutableTags).toEqual([
      { repositories: { matches: "apps/**" }, tags: { matches: "v*" }, disabled: false },
    ]);
    expect(config.garbageCollection).toEqual({
      schedule: "0 0 2 * * SAT",
      deleteUntagged: false,
      workers: 3,
      dryRun: false,
    });
    expect(config.auditLogPurge).toEqual({
      schedule: "0 0 0 * * *",
      retentionHours: 720,
      includeEventTypes: ["pull_artifact"],
      dryRun: false,
    });
  });

  it.each<[string, string, unknown, string]>([
    [
      "a five-field cron",
      "airlock:garbageCollection",
      { schedule: "0 3 * * 0" },
      'airlock:garbageCollection.schedule: "0 3 * * 0" has five fields',
    ],
    [
      "six GC workers",
      "airlock:garbageCollection",
      { schedule: "Weekly", workers: 6 },
      "airlock:garbageCollection.workers",
    ],
    [
      "no event type to purge",
      "airlock:auditLogPurge",
      { schedule: "Daily", retentionHours: 1, includeEventTypes: [] },
      "airlock:auditLogPurge.includeEventTypes",
    ],
    [
      "a rule with two templates",
      "airlock:projects",
      [{ name: "p", retention: { schedule: "Daily", rules: [{ keepLatestPushed: 1, always: true }] } }],
      "airlock:projects[0].retention.rules[0]: expected exactly one of",
    ],
    [
      "a count too large",
      "airlock:projects",
      [{ name: "p", retention: { schedule: "Daily", rules: [{ keepLatestPushed: 40000 }] } }],
      "airlock:projects[0].retention.rules[0].keepLatestPushed: expected a whole number from 0 to 32766",
    ],
    [
      "two rules alike",
      "airlock:projects",
      [{ name: "p", retention: { schedule: "None", rules: [{ always: true }, { always: true }] } }],
      "airlock:projects[0].retention.rules: rules[1] is the same as rules[0]",
    ],
    [
      "a malformed pattern",
      "airlock:projects",
      [{ name: "p", immutableTags: [{ tags: { matches: "[v*" } }] }],
      'airlock:projects[0].immutableTags[0].tags: "[v*" leaves a [ open',
    ],
    [
      "both matches and excludes",
      "airlock:projects",
      [{ name: "p", immutableTags: [{ tags: { matches: "v*", excludes: "x" } }] }],
      "airlock:projects[0].immutableTags[0].tags: expected { matches",
    ],
    [
      "two immutable rules alike",
      "airlock:projects",
      [{ name: "p", immutableTags: [{ tags: { matches: "v*" } }, { tags: { matches: "v*" }, disabled: true }] }],
      "airlock:projects[0].immutableTags[1]: the same rule as immutableTags[0]",
    ],
    [
      "a proxy expiry of no days",
      "airlock:proxyProjects",
      [{ name: "hub", registry: "hub", expiryDays: 0 }],
      "airlock:proxyProjects[0].expiryDays",
    ],
  ])("refuses %s, naming the key", (_what, key, value, message) => {
    const entries: Record<string, string> = { [key]: JSON.stringify(value) };
    if (key === "airlock:proxyProjects")
      entries["airlock:registries"] = JSON.stringify([
        { name: "hub", type: "docker-hub", url: "https://hub.docker.com" },
      ]);
    expect(errorOf(entries)).toContain(message);
  });

  it("names the project, robot or member at fault, and never echoes a user's password", () => {
    const message = errorOf({
      "airlock:users": JSON.stringify([{ username: "bob", password: "weak" }]),
      "airlock:projects": JSON.stringify([
        { name: "Bad Name", robots: [{ name: "ci", actions: ["fly"] }], members: [{ username: "bob", role: "owner" }] },
      ]),
    });
    expect(message).toContain("airlock:users[0].password: expected 8 to 128 characters");
    expect(message).toContain("(got [secret])");
    expect(message).not.toContain("weak");
    expect(message).toContain(
      'airlock:projects[0].name: expected lowercase letters and digits with . _ - between them (got "Bad Name")',
    );
    expect(message).toContain("airlock:projects[0].robots[0].actions[0]");
    expect(message).toContain("airlock:projects[0].members[0].role");
  });

  it("reads replication policies through declared endpoints, their trigger and filters normalised", () => {
    const { config } = parse({
      "airlock:registries": JSON.stringify([{ name: "lyon", type: "harbor", url: "https://registry.lyon.test" }]),
      "airlock:replications": JSON.stringify([
        {
          name: "to-lyon",
          destinationRegistry: "lyon",
          trigger: { type: "scheduled", cron: "0  0 2 * * *" },
          filters: { tags: { matches: "v*" }, repositories: "production/**" },
          speedKbps: 0,
        },
        { name: "from-lyon", sourceRegistry: "lyon", trigger: "eventBased" },
      ]),
    });
    expect(config.replications).toEqual([
      {
        name: "to-lyon",
        description: "",
        destinationRegistry: "lyon",
        destinationNamespace: "",
        destinationNamespaceReplaceCount: -1,
        trigger: { type: "scheduled", cron: "0 0 2 * * *" },
        filters: { repositories: "production/**", tags: { matches: "v*" } },
        override: true,
        replicateDeletion: false,
        copyByChunk: false,
        speedKbps: -1,
        enabled: true,
        singleActiveReplication: false,
        runOnCreate: false,
      },
      expect.objectContaining({
        name: "from-lyon",
        sourceRegistry: "lyon",
        trigger: { type: "eventBased" },
        filters: {},
      }),
    ]);
  });

  it("refuses a replication naming no declared endpoint, both endpoints, a five-field cron or a name twice, naming the key", () => {
    const message = errorOf({
      "airlock:registries": JSON.stringify([{ name: "lyon", type: "harbor", url: "https://registry.lyon.test" }]),
      "airlock:replications": JSON.stringify([
        { name: "a", destinationRegistry: "paris" },
        { name: "b", destinationRegistry: "lyon", sourceRegistry: "lyon" },
        { name: "c", destinationRegistry: "lyon", trigger: { type: "scheduled", cron: "0 2 * * *" } },
        { name: "a", destinationRegistry: "lyon", filters: { tags: { matches: "[v" } } },
      ]),
    });
    expect(message).toContain(
      'airlock:replications[0].destinationRegistry: no entry of airlock:registries is named "paris"',
    );
    expect(message).toContain(
      "airlock:replications[1].sourceRegistry: set only one of destinationRegistry and sourceRegistry",
    );
    expect(message).toContain('airlock:replications[2].trigger.cron: "0 2 * * *" has five fields');
    expect(message).toContain('airlock:replications[3].filters.tags: "[v" leaves a [ open');
    // The registries' check runs once the policies themselves are valid.
    expect(
      errorOf({
        "airlock:registries": JSON.stringify([{ name: "lyon", type: "harbor", url: "https://registry.lyon.test" }]),
        "airlock:replications": JSON.stringify([
          { name: "a", destinationRegistry: "lyon" },
          { name: "a", sourceRegistry: "lyon" },
        ]),
      }),
    ).toContain("airlock:replications[1].name: also the name of replications[0]");
  });

  it("reads a project's webhooks, refuses a bad one naming the key, and never echoes an auth header", () => {
    const project = (webhooks: unknown[]) => ({
      "airlock:projects": JSON.stringify([{ name: "production", webhooks }]),
    });
    const { config, warnings } = parse(
      project([
        {
          name: "security",
          targets: [{ address: "https://security.dmz.test/hooks", authHeader: "Bearer hook-secret-1" }],
          eventTypes: ["SCANNING_COMPLETED"],
        },
      ]),
      [],
    );
    expect(config.projects[0]?.webhooks).toEqual([
      {
        name: "security",
        description: "",
        targets: [
          {
            address: "https://security.dmz.test/hooks",
            type: "http",
            authHeader: "Bearer hook-secret-1",
            skipCertVerify: false,
          },
        ],
        authHeaderVersion: 0,
        eventTypes: ["SCANNING_COMPLETED"],
        enabled: true,
      },
    ]);
    // A header in clear text is warned about; set as a secret, it is not.
    expect(warnings).toEqual([expect.stringContaining("pulumi config set --secret airlock:projects")]);
    expect(parse(project([]), []).warnings).toEqual([]);

    const message = errorOf(
      project([
        {
          name: "security",
          targets: [
            { address: "https://security.dmz.test/hooks?token=1", authHeader: "Bearer hook\nsecret-2" },
            { address: "https://chat.test", type: "slack", payloadFormat: "CloudEvents" },
          ],
          eventTypes: ["SCAN_DONE"],
        },
        { name: "security", targets: [{ address: "https://x.test" }], eventTypes: ["PUSH_ARTIFACT"] },
      ]),
    );
    expect(message).toContain("airlock:projects[0].webhooks[0].targets[0].address: expected an http(s) URL");
    expect(message).toContain(
      "airlock:projects[0].webhooks[0].targets[1].payloadFormat: a slack target takes no payload format",
    );
    expect(message).toContain("airlock:projects[0].webhooks[0].targets[0].authHeader: expected an HTTP header value");
    expect(message).toContain("airlock:projects[0].webhooks[0].eventTypes[0]: expected one of DELETE_ARTIFACT");
    expect(message).toContain("airlock:projects[0].webhooks[1].name: also the name of webhooks[0]");
    expect(message).not.toContain("secret-2");
  });

  it("warns when the admin password is stored in clear text", () => {
    const entries = { "airlock:adminPassword": "correct-horse-battery" };
    expect(parse(entries, []).warnings).toEqual([expect.stringContaining("pulumi config set --secret")]);
    expect(parse(entries, ["airlock:adminPassword"]).warnings).toEqual([]);
  });

  describe("the Kubernetes target", () => {
    const kubernetes = (settings: Record<string, unknown>) => ({
      "airlock:target": "kubernetes",
      "airlock:kubernetes": JSON.stringify({ image: "registry.example/airlock:0.1.0", ...settings }),
    });

    it("needs the server image", () => {
      expect(errorOf({ "airlock:target": "kubernetes" })).toContain(
        "airlock:kubernetes.image: the Kubernetes target needs the server image",
      );
    });

    it("refuses several replicas unless storage is S3 and metadata PostgreSQL, naming the key", () => {
      expect(errorOf(kubernetes({ replicas: 2 }))).toContain(
        'airlock:kubernetes.replicas: 2 replicas need shared backends, storage "s3" and metadata "postgres" ' +
          '(got storage "filesystem" and metadata "sqlite")',
      );
      const { config } = parse(
        kubernetes({
          replicas: 3,
          storage: {
            type: "s3",
            bucket: "airlock",
            endpoint: "https://minio.dmz.internal:9000",
            cidrs: ["10.5.0.0/24"],
          },
          metadata: {
            type: "postgres",
            url: "postgres://airlock@pg.dmz.internal/airlock",
            existingSecret: "airlock-db",
          },
        }),
      );
      expect(config.kubernetes.replicas).toBe(3);
      expect(config.kubernetes.storage).toMatchObject({ type: "s3", region: "us-east-1", forcePathStyle: false });
    });

    it("reads the zones with their defaults and checks every CIDR", () => {
      const { config } = parse(kubernetes({ zones: { cluster: { nodeCidrs: ["10.30.0.0/24"] } } }));
      expect(config.kubernetes.zones).toEqual({
        internet: { endpoints: {} },
        proxy: { egressProxyCidrs: [], ingressControllerNamespace: "ingress-nginx" },
        production: { namespaces: [], cidrs: [] },
        cluster: {
          nodeCidrs: ["10.30.0.0/24"],
          dnsNamespace: "kube-system",
          dnsPodLabels: { "k8s-app": "kube-dns" },
          monitoringNamespace: "monitoring",
        },
      });
      expect(errorOf(kubernetes({ zones: { production: { cidrs: ["10.0.0.0/40"] } } }))).toContain(
        'airlock:kubernetes.zones.production.cidrs[0]: expected a CIDR, e.g. 10.0.0.0/16 (got "10.0.0.0/40")',
      );
    });

    it("never echoes the S3 or database secrets, and warns when they are in clear text", () => {
      const entries = kubernetes({
        storage: { type: "s3", bucket: "airlock", accessKeyId: "AKIA", secretAccessKey: "" },
        metadata: { type: "postgres", url: "postgres://airlock:hunter2@db/airlock" },
      });
      const message = errorOf(entries);
      expect(message).toContain("airlock:kubernetes.storage.secretAccessKey");
      expect(message).toContain("airlock:kubernetes.metadata.url: put the password in metadata.password");
      expect(message).toContain("airlock:kubernetes.metadata.password: give the database password");
      expect(message).not.toContain("hunter2");
      const valid = kubernetes({
        metadata: { type: "postgres", url: "postgres://airlock@db/airlock", password: "pw" },
      });
      expect(parse(valid, []).warnings).toEqual([
        expect.stringContaining("airlock:kubernetes is stored in clear text"),
      ]);
      expect(parse(valid, ["airlock:kubernetes"]).warnings).toEqual([]);
      expect(parse(kubernetes({}), []).warnings).toEqual([]);
    });
  });
});
