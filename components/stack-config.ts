// The stack configuration (`airlock:*` keys of Pulumi.<stack>.yaml), validated with zod before
// any resource is declared. A bad value fails the whole run with its key, its value (never a
// secret's) and what was expected; an unknown `airlock:` key fails too, so typos are caught.

import { z } from "zod";
import { awsTargetSchema, refineAwsTarget } from "./config/aws-target";
import { kubernetesTargetSchema, refineKubernetesTarget } from "./config/kubernetes-target";
import { auditLogPurgeSchema, garbageCollectionSchema } from "./config/lifecycle";
import { localTargetSchema } from "./config/local-target";
import { mirrorSchema, proxyProjectSchema, registrySchema, upstreamSchema } from "./config/proxy-cache";
import { projectSchema, userSchema } from "./config/registry-content";
import { replicationSchema } from "./config/replication";
import { scannerSchema, systemCveAllowlistSchema } from "./config/security";

export { LOG_LEVELS } from "./config/schema-parts";

export const CONFIG_NAMESPACE = "airlock";

export const stackConfigSchema = z
  .strictObject({
    /** Where the registry runs: this machine, a Kubernetes cluster, or AWS. */
    target: z.enum(["local", "kubernetes", "aws"]).default("local"),
    local: localTargetSchema.prefault({}),
    /** The Kubernetes target: image, replicas, storage, metadata, TLS, Ingress, zones, monitoring. */
    kubernetes: kubernetesTargetSchema.prefault({}),
    /** The AWS target: image, region, zones, replicas, storage, metadata, TLS, load balancer. */
    aws: awsTargetSchema.prefault({}),
    adminUsername: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,254}$/, "expected a lowercase user name")
      .default("admin"),
    /** Set with `pulumi config set --secret airlock:adminPassword …`; generated when absent. */
    adminPassword: z.string().min(12, "expected at least 12 characters").optional(),
    /** Local users of the registry. */
    users: z.array(userSchema).default([]),
    /** Projects, with their members and robot accounts. */
    projects: z.array(projectSchema).default([]),
    /** Egress towards upstream registries (the corporate proxy of a DMZ). */
    upstream: upstreamSchema.default({}),
    /** Transparent mirror routing to proxy-cache projects. */
    mirror: mirrorSchema.prefault({}),
    /** Upstream registry endpoints. */
    registries: z.array(registrySchema).default([]),
    /** Proxy-cache projects, each pulling through one of `registries`. */
    proxyProjects: z.array(proxyProjectSchema).default([]),
    /** The registry's garbage collection schedule; left out, it is not managed. */
    garbageCollection: garbageCollectionSchema.optional(),
    /** The registry's audit log purge schedule; left out, it is not managed. */
    auditLogPurge: auditLogPurgeSchema.optional(),
    /** The registry's CVE allowlist, which projects may reuse; left out, it is not managed. */
    systemCveAllowlist: systemCveAllowlistSchema.optional(),
    /** External scanner adapters (Harbor's pluggable scanner API) to register. */
    scanners: z.array(scannerSchema).default([]),
    /** Replication policies, each to or from one of `registries`. */
    replications: z.array(replicationSchema).default([]),
  })
  .superRefine((config, ctx) => {
    if (config.target === "kubernetes") refineKubernetesTarget(config.kubernetes, ctx);
    if (config.target === "aws") refineAwsTarget(config.aws, ctx);
    const registries = new Set(config.registries.map((r) => r.name));
    const proxies = new Set(config.proxyProjects.map((p) => p.name));
    config.proxyProjects.forEach((project, index) => {
      if (!registries.has(project.registry)) {
        ctx.addIssue({
          code: "custom",
          path: ["proxyProjects", index, "registry"],
          message: `no entry of airlock:registries is named ${JSON.stringify(project.registry)}`,
        });
      }
    });
    const replicationNames = new Map<string, number>();
    config.replications.forEach((replication, index) => {
      for (const key of ["destinationRegistry", "sourceRegistry"] as const) {
        const registry = replication[key];
        if (registry !== undefined && !registries.has(registry)) {
          ctx.addIssue({
            code: "custom",
            path: ["replications", index, key],
            message: `no entry of airlock:registries is named ${JSON.stringify(registry)}`,
          });
        }
      }
      const earlier = replicationNames.get(replication.name);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["replications", index, "name"],
          message: `also the name of replications[${earlier}]`,
        });
      }
      replicationNames.set(replication.name, index);
    });
    config.projects.forEach((project, index) => {
      if (proxies.has(project.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["projects", index, "name"],
          message: "also declared as a proxy project",
        });
      }
    });
    const mirrored = [
      ["defaultProject", config.mirror.defaultProject] as const,
      ...Object.entries(config.mirror.namespaces).map(([ns, p]) => [`namespaces.${ns}`, p] as const),
      ...Object.entries(config.mirror.hosts).map(([host, p]) => [`hosts.${host}`, p] as const),
    ];
    for (const [key, project] of mirrored) {
      if (project !== undefined && !proxies.has(project)) {
        ctx.addIssue({
          code: "custom",
          path: ["mirror", ...key.split(/\.(.*)/s).filter(Boolean)],
          message: `${JSON.stringify(project)} is not one of airlock:proxyProjects`,
        });
      }
    }
  });

export type StackConfig = z.infer<typeof stackConfigSchema>;

export class StackConfigError extends Error {
  override name = "StackConfigError";
}

export interface ParsedStackConfig {
  config: StackConfig;
  /** Advice that does not stop the run (a secret set in clear, say). */
  warnings: string[];
}

/** Keys whose values may hold secrets: never echoed in errors. */
const SECRET_KEYS = new Set(["adminPassword", "users", "registries", "kubernetes", "scanners", "projects"]);

/**
 * Whether an issue's value may be a secret. In the Kubernetes section only the secret fields are,
 * and the database URL (a refused one may carry a password); in the projects, webhooks' headers.
 */
function isSecretPath(path: PropertyKey[]): boolean {
  const head = String(path[0]);
  if (head === "aws") return path.includes("url") || path.includes("privateKeyPem");
  if (head === "projects") return path.includes("authHeader");
  if (head !== "kubernetes") return SECRET_KEYS.has(head);
  return (
    path.some((part) => part === "secretAccessKey" || part === "password") ||
    (path[1] === "metadata" && path[2] === "url")
  );
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function keyName(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  const tail = rest.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
  return `${CONFIG_NAMESPACE}:${String(head ?? "")}${tail}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** Pulumi hands structured values over as JSON text and scalars as plain text. */
function decodeValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Validates the stack's configuration.
 * @param entries every config entry of the stack, keyed `namespace:name` (Pulumi's allConfig())
 * @param secretKeys the keys among them that were set as secrets, when known: secret values are
 *   never echoed in errors, and secret settings found in clear text are warned about
 */
export function parseStackConfig(entries: Record<string, string>, secretKeys?: ReadonlySet<string>): ParsedStackConfig {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, value] of Object.entries(entries)) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decodeValue(value);
  }

  const result = stackConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => `  ${keyName([...issue.path, key])}: unknown key`).join("\n");
      }
      const isSecret = isSecretPath(issue.path) || Boolean(secretKeys?.has(keyName(issue.path.slice(0, 1))));
      const got = isSecret ? "[secret]" : describe(valueAt(raw, issue.path));
      return `  ${keyName(issue.path)}: ${issue.message} (got ${got})`;
    });
    throw new StackConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
  }

  const warnings: string[] = [];
  // Registry endpoints without a credential (anonymous pulls) hold no secret, nor does a
  // Kubernetes section without S3 or database password.
  const holdsSecret = (key: string): boolean => {
    if (key === "registries") return result.data.registries.some((r) => r.credential !== undefined);
    if (key === "projects") {
      return result.data.projects.some((p) =>
        p.webhooks.some((w) => w.targets.some((t) => t.authHeader !== undefined)),
      );
    }
    if (key === "kubernetes") {
      const { storage, metadata } = result.data.kubernetes;
      return (
        (storage.type === "s3" && storage.secretAccessKey !== undefined) ||
        (metadata.type === "postgres" && metadata.password !== undefined)
      );
    }
    return true;
  };
  for (const key of secretKeys ? SECRET_KEYS : []) {
    const fullKey = `${prefix}${key}`;
    if (entries[fullKey] !== undefined && !secretKeys?.has(fullKey) && holdsSecret(key)) {
      warnings.push(`${fullKey} is stored in clear text: set it with \`pulumi config set --secret ${fullKey}\``);
    }
  }
  return { config: result.data, warnings };
}
