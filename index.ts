// The Pulumi program: reads and validates the stack configuration, then deploys the registry to
// the stack's target. `pulumi up` per environment; the stack outputs tell clients how to connect.

import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredContent, DeclaredProxyCache, LocalRegistry } from "./components";
import { parseStackConfig, StackConfigError } from "./components/stack-config";

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

const config = loadStackConfig();
if (config.target !== "local") {
  // The Kubernetes and AWS components are not in this release; refuse rather than deploy locally.
  throw new pulumi.RunError(`airlock:target "${config.target}" cannot be deployed yet: only "local" is available`);
}
const stack = pulumi.getStack();
const stateDir = config.local.stateDir ?? path.join(__dirname, ".airlock", stack);

const registry = new LocalRegistry("registry", {
  port: config.local.port,
  bindAddress: config.local.bindAddress,
  hostnames: config.local.hostnames,
  stateDir,
  ...(config.local.dataDir !== undefined && { dataDir: config.local.dataDir }),
  adminUsername: config.adminUsername,
  ...(config.adminPassword !== undefined && { adminPassword: pulumi.secret(config.adminPassword) }),
  logLevel: config.local.logLevel,
  removeDataOnDestroy: config.local.removeDataOnDestroy,
  upstream: config.upstream,
  // Only the rules that are set: an empty section would change the server's configuration file.
  mirror: {
    ...(config.mirror.defaultProject !== undefined && { defaultProject: config.mirror.defaultProject }),
    ...(Object.keys(config.mirror.namespaces).length > 0 && { namespaces: config.mirror.namespaces }),
    ...(Object.keys(config.mirror.hosts).length > 0 && { hosts: config.mirror.hosts }),
  },
});

// Users, projects, members and robots declared in the stack, created through the registry's API.
const content = new DeclaredContent("registry", {
  connection: registry.connection,
  users: config.users,
  projects: config.projects,
});

// Upstream endpoints, proxy-cache projects and the images they keep, through the same API.
const proxyCache = new DeclaredProxyCache("registry", {
  connection: registry.connection,
  registries: config.registries,
  proxyProjects: config.proxyProjects,
  users: content.users,
});

/** Base URL of the registry. */
export const url = registry.url;
/** The CA clients must trust (PEM). */
export const caCertificate = registry.caCertPem;
export const adminUsername = registry.adminUsername;
/** Secret: `pulumi stack output adminPassword --show-secrets`. */
export const adminPassword = registry.adminPassword;
export const serverPid = registry.pid;
export const dataDir = registry.dataDir;
export const logFile = registry.logFile;
/** Robot credentials by "<project>/<robot>" (secret): log in with username and password. */
export const robots = pulumi.secret({ ...content.robots, ...proxyCache.robots });
/** Upstream endpoint ids by name. */
export const registryIds = proxyCache.registryIds;
/** The digest each preheated image resolved to, by proxy-cache project. */
export const preheated = proxyCache.preheated;
