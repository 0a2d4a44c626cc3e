// Every stack file of the project must hold a configuration the program accepts.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { validateRegistryServerArgs } from "../../components/registry-server";
import { validateAwsRegistryArgs } from "../../components/aws/aws-registry-args";
import { awsRegistryArgs } from "../../components/aws/aws-stack-target";
import { parseStackConfig } from "../../components/stack-config";
import { registryServerArgs } from "../../components/stack-targets";

const ROOT = path.resolve(__dirname, "..", "..");
const STACK_FILES = readdirSync(ROOT).filter(
  (file) => /^Pulumi\.(?!e2e-)[\w-]+\.yaml$/.test(file) && file !== "Pulumi.yaml",
);

/**
 * Registry credentials' secrets are set per installation (`pulumi config set --secret --path
 * 'airlock:registries[N].credential.accessSecret'`), never committed: stand in for them.
 */
function standInForInstallSecrets(config: Record<string, unknown>): void {
  const registries = config["airlock:registries"];
  if (!Array.isArray(registries)) return;
  for (const registry of registries as Array<{ credential?: { accessSecret?: unknown } }>) {
    if (registry.credential && registry.credential.accessSecret === undefined) {
      registry.credential.accessSecret = "set-per-installation";
    }
  }
}

/** Pulumi hands structured values to the program as JSON text, scalars as text. */
function configEntries(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

describe("stack files", () => {
  it("include the embedded default and the DMZ stacks", () => {
    expect(STACK_FILES).toEqual(expect.arrayContaining(["Pulumi.local.yaml", "Pulumi.dmz.yaml"]));
  });

  for (const file of STACK_FILES) {
    it(`${file} is valid against the configuration schema`, () => {
      const document = parse(readFileSync(path.join(ROOT, file), "utf8")) as { config?: Record<string, unknown> };
      standInForInstallSecrets(document.config ?? {});
      expect(() => parseStackConfig(configEntries(document.config ?? {}))).not.toThrow();
    });
  }

  it("declare the DMZ guide's production project with a pull-only robot for the nodes and a push robot for CI", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const { config } = parseStackConfig({ "airlock:projects": JSON.stringify(document.config["airlock:projects"]) });
    const production = config.projects.find((p) => p.name === "production");
    expect(production?.public).toBe(false);
    expect(production?.robots.map((r) => `${r.name}:${r.actions.join("+")}`).sort()).toEqual([
      "ci:pull+push",
      "cluster-nodes:pull",
    ]);
  });

  it("declare the DMZ guide's six upstreams, a proxy project for each, and the mirror rules", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    standInForInstallSecrets(document.config);
    const { config } = parseStackConfig(configEntries(document.config));
    // The endpoints replication pushes to are the other sites, not upstreams.
    const replicatedTo = new Set(config.replications.map((r) => r.destinationRegistry));
    const upstreams = config.registries.filter((r) => !replicatedTo.has(r.name));
    expect(upstreams.map((r) => r.type).sort()).toEqual([
      "aws-ecr",
      "azure-acr",
      "docker-hub",
      "docker-registry",
      "google-gcr",
      "quay",
    ]);
    expect(config.proxyProjects.map((p) => p.registry).sort()).toEqual(upstreams.map((r) => r.name).sort());
    expect(config.upstream.httpsProxy).toBeDefined();
    expect(config.mirror.namespaces["docker.io"]).toBe("dockerhub-proxy");
  });

  it("declare the DMZ guide's lifecycle: last 10 tags or 30 days, untagged removed, v* immutable, weekly GC, 14-day caches", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    standInForInstallSecrets(document.config);
    const { config } = parseStackConfig(configEntries(document.config));
    const production = config.projects.find((p) => p.name === "production");
    expect(production?.retention).toEqual({
      schedule: "0 0 0 * * *",
      rules: [
        { keepLatestPushed: 10, untagged: false, disabled: false },
        { keepPushedWithinDays: 30, untagged: false, disabled: false },
      ],
    });
    expect(production?.immutableTags).toEqual([{ tags: { matches: "v*" }, disabled: false }]);
    expect(config.garbageCollection).toEqual({
      schedule: "0 0 0 * * 0",
      deleteUntagged: true,
      workers: 1,
      dryRun: false,
    });
    expect(config.proxyProjects.map((p) => p.expiryDays)).toEqual(config.proxyProjects.map(() => 14));
    // Preheated images are pinned by the registry, so the 14 days never remove them.
    expect(config.proxyProjects.filter((p) => p.preheat).length).toBeGreaterThan(0);
  });

  it("declare the DMZ guide's multi-site rule (production's v* tags to Lyon, event-based) and the security team's webhook", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    standInForInstallSecrets(document.config);
    const { config } = parseStackConfig(configEntries(document.config));
    const lyon = config.registries.find((r) => r.name === "lyon");
    expect(lyon).toMatchObject({ type: "harbor", url: "https://registry.lyon.internal" });
    // Its robot's secret is set per installation, as the upstreams' are.
    expect(lyon?.credential?.accessKey).toBeDefined();
    expect(config.replications).toEqual([
      expect.objectContaining({
        name: "production-to-lyon",
        destinationRegistry: "lyon",
        trigger: { type: "eventBased" },
        filters: { repositories: "production/**", tags: { matches: "v*" } },
        override: true,
        replicateDeletion: true,
        enabled: true,
        runOnCreate: true,
      }),
    ]);
    const production = config.projects.find((p) => p.name === "production");
    expect(production?.webhooks).toEqual([
      expect.objectContaining({
        name: "security-team",
        targets: [expect.objectContaining({ address: "https://security.dmz.internal/hooks/registry", type: "http" })],
        eventTypes: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
        enabled: true,
      }),
    ]);
    // The header is a secret set per installation, never committed.
    expect(production?.webhooks[0]?.targets[0]?.authHeader).toBeUndefined();
  });

  it("deploy the DMZ stack to Kubernetes behind ingress-nginx, with the zones and monitoring, past the components' checks", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    standInForInstallSecrets(document.config);
    const { config } = parseStackConfig(configEntries(document.config));
    expect(config.target).toBe("kubernetes");
    expect(config.kubernetes.image).toBeDefined();
    expect(config.kubernetes.ingress?.host).toBe("registry.dmz.internal");
    expect(config.kubernetes.zones?.proxy.egressProxyCidrs.length).toBeGreaterThan(0);
    expect(config.kubernetes.monitoring).toMatchObject({ serviceMonitor: true, prometheusRule: true });
    // The replica check, the zones and the firewall rules, as RegistryServer runs them.
    expect(() => validateRegistryServerArgs(registryServerArgs(config, "/unused"))).not.toThrow();
  });

  it("include a sample AWS stack: two tasks on S3 and RDS behind an internal ALB, past AwsRegistry's checks", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.aws-dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    standInForInstallSecrets(document.config);
    const { config } = parseStackConfig(configEntries(document.config));
    expect(config.target).toBe("aws");
    expect(config.aws).toMatchObject({
      replicas: 2,
      storage: { type: "s3" },
      metadata: { type: "rds" },
      loadBalancer: { internal: true, zone: "ingress" },
    });
    // The replica check, the TLS and load balancer combination, the subnets and the security
    // group rules of the zones and endpoints, as AwsRegistry runs them.
    expect(() => validateAwsRegistryArgs(awsRegistryArgs(config))).not.toThrow();
  });

  it("refuse an AWS stack with several tasks on ephemeral storage, naming the key", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.aws-dmz.yaml"), "utf8")) as {
      config: Record<string, { storage?: unknown }>;
    };
    standInForInstallSecrets(document.config);
    const aws = { ...document.config["airlock:aws"], storage: { type: "ephemeral" } };
    expect(() => parseStackConfig(configEntries({ ...document.config, "airlock:aws": aws }))).toThrow(
      /airlock:aws\.replicas: 2 tasks need shared backends/,
    );
  });
});
