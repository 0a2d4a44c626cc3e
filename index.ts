// The Pulumi program: reads and validates the stack configuration, deploys the registry server to
// the stack's target (RegistryServer: this machine, or a Kubernetes cluster), then declares what
// the registry holds through its API. `pulumi up` per environment; the outputs tell clients how
// to connect.

import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  DeclaredContent,
  DeclaredProxyCache,
  DeclaredReplication,
  FirewallRulesError,
  KubernetesSettingsError,
  NetworkZonesError,
  RegistryServer,
  RegistryServerError,
} from "./components";
import { AwsRegistryError } from "./components/aws/aws-registry-args";
import { parseStackConfig, StackConfigError } from "./components/stack-config";
import { registryServerArgs } from "./components/stack-targets";

function loadStackConfig() {
  const entries = pulumi.runtime.allConfig();
  // The SDK knows which keys are secret but keeps isConfigSecret internal: use it when present,
  // since it only decides whether to warn about a secret stored in clear.
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  const isSecret = runtime.isConfigSecret;
  const secretKeys = isSecret ? new Set(Object.keys(entries).filter((key) => isSecret(key))) : undefined;
  try {
    const { config, warnings } = parseStackConfig(entries, secretKeys);
    for (const warning of warnings) void pulumi.log.warn(warning);
    return config;
  } catch (err) {
    // A RunError is shown to the user without a stack trace.
    if (err instanceof StackConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

/** The components' construction-time checks name every problem: shown without a stack trace. */
const CHECK_ERRORS = [
  RegistryServerError,
  KubernetesSettingsError,
  AwsRegistryError,
  NetworkZonesError,
  FirewallRulesError,
];

function runError(err: unknown): never {
  if (CHECK_ERRORS.some((type) => err instanceof type)) throw new pulumi.RunError((err as Error).message);
  throw err;
}

const config = loadStackConfig();
const stack = pulumi.getStack();
const renderDir = config.kubernetes.renderYamlToDirectory;

// The Kubernetes provider: the kubeconfig's cluster, or manifests written to a directory (no
// cluster at all) when renderYamlToDirectory is set.
const kubernetesProvider =
  config.target === "kubernetes"
    ? new k8s.Provider("kubernetes", {
        ...(renderDir !== undefined && { renderYamlToDirectory: path.resolve(renderDir) }),
        ...(config.kubernetes.context !== undefined && { context: config.kubernetes.context }),
      })
    : undefined;

let registry: RegistryServer;
try {
  registry = new RegistryServer(
    "registry",
    registryServerArgs(config, path.join(__dirname, ".airlock", stack)),
    kubernetesProvider ? { providers: [kubernetesProvider] } : {},
  );
} catch (err) {
  runError(err);
}

// What the registry holds, through its API. Rendered manifests start no server to talk to, so a
// render declares none of it (the preview of a real deployment shows it all).
const manageContent = !(config.target === "kubernetes" && renderDir !== undefined);
if (!manageContent) {
  const count =
    config.projects.length +
    config.users.length +
    config.registries.length +
    config.proxyProjects.length +
    config.replications.length;
  void pulumi.log.info(
    `rendering manifests to ${renderDir}: the registry's content (${count} users, projects, endpoints, proxy ` +
      "projects and replication policies) is not declared, as no server runs to hold it",
  );
}
const content = manageContent
  ? new DeclaredContent("registry", {
      connection: registry.connection,
      users: config.users,
      projects: config.projects,
      garbageCollection: config.garbageCollection,
      auditLogPurge: config.auditLogPurge,
      systemCveAllowlist: config.systemCveAllowlist,
      scanners: config.scanners,
    })
  : undefined;
const proxyCache =
  manageContent && content
    ? new DeclaredProxyCache("registry", {
        connection: registry.connection,
        registries: config.registries,
        proxyProjects: config.proxyProjects,
        users: content.users,
      })
    : undefined;

// Replication through the endpoints, once the projects exist (a policy run on create copies
// what they hold).
const replication =
  proxyCache && content && config.replications.length > 0
    ? new DeclaredReplication(
        "registry",
        {
          connection: registry.connection,
          registryIds: proxyCache.registryIds,
          replications: config.replications,
        },
        { dependsOn: [content] },
      )
    : undefined;

// The stack's outputs, only those the target has (an undefined output would only warn).
export = {
  /** Where the registry runs: local, kubernetes or aws. */
  target: registry.target,
  /** Base URL of the registry. */
  url: registry.url,
  /** The CA clients must trust (PEM). */
  caCertificate: registry.caCertPem,
  adminUsername: registry.adminUsername,
  /** Secret: `pulumi stack output adminPassword --show-secrets`. */
  adminPassword: registry.adminPassword,
  ...(registry.local && {
    serverPid: registry.local.pid,
    dataDir: registry.local.dataDir,
    logFile: registry.local.logFile,
  }),
  ...(registry.aws && {
    /** The load balancer clients reach the registry through. */
    loadBalancerDnsName: registry.aws.loadBalancerDnsName,
    vpcId: registry.aws.vpcId,
    logGroupName: registry.aws.logGroupName,
  }),
  ...(registry.kubernetes && {
    /** The registry's Kubernetes namespace. */
    namespace: registry.kubernetes.namespace,
    /** The firewall rules derived from the zones, one NetworkPolicy each. */
    firewallRules: (registry.kubernetes.firewall?.rules ?? []).map((rule) => `${rule.name}: ${rule.purpose}`),
  }),
  /** Robot credentials by "<project>/<robot>" (secret): log in with username and password. */
  robots: pulumi.secret({ ...content?.robots, ...proxyCache?.robots }),
  ...(proxyCache && {
    /** Upstream endpoint ids by name. */
    registryIds: proxyCache.registryIds,
    /** The digest each preheated image resolved to, by proxy-cache project. */
    preheated: proxyCache.preheated,
  }),
  ...(replication && {
    /** Replication policy ids by name. */
    replicationPolicyIds: replication.policyIds,
  }),
};
