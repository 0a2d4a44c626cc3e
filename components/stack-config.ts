// The stack configuration (`airlock:*` keys of Pulumi.<stack>.yaml), validated with zod before
// any resource is declared. A bad value fails the whole run with its key, its value (never a
// secret's) and what was expected; an unknown `airlock:` key fails too, so typos are caught.

import { isIP } from "node:net";
import { z } from "zod";

export const CONFIG_NAMESPACE = "airlock";
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
    "expected a DNS name",
  );

const localTargetSchema = z.strictObject({
  /** Port the registry listens on. */
  port: z
    .number()
    .int("expected a whole number")
    .min(1, "expected a port from 1 to 65535")
    .max(65535, "expected a port from 1 to 65535")
    .default(5443),
  /** Address to listen on: loopback by default; 0.0.0.0 serves other machines. */
  bindAddress: z
    .string()
    .refine((value) => isIP(value) !== 0, "expected an IP address")
    .default("127.0.0.1"),
  /** DNS names clients use besides localhost; added to the server certificate. */
  hostnames: z.array(dnsName).default([]),
  /** Configuration, TLS files and logs. Default `.airlock/<stack>` in the project. */
  stateDir: z.string().min(1).optional(),
  /** Registry content. Default `<stateDir>/data`. */
  dataDir: z.string().min(1).optional(),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /** Delete content and state on `pulumi destroy`. Default false: they are kept. */
  removeDataOnDestroy: z.boolean().default(false),
});

const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const harborPassword = z
  .string()
  .refine(
    (p) => p.length >= 8 && p.length <= 128 && /[A-Z]/.test(p) && /[a-z]/.test(p) && /\d/.test(p),
    "expected 8 to 128 characters with an upper case letter, a lower case letter and a digit",
  );

const userSchema = z.strictObject({
  username: z.string().regex(/^[^,"~#$%:\s]{1,255}$/, 'expected a user name without spaces or , " ~ # $ % :'),
  /** Set with `pulumi config set --secret --path 'airlock:users[0].password' …`. */
  password: harborPassword,
  /** Bump to set the password again after someone changed it by hand. */
  passwordVersion: z.number().int().min(1).default(1),
  email: z.union([z.literal(""), z.email()]).default(""),
  realname: z.string().max(255).default(""),
});

const memberSchema = z.strictObject({
  username: z.string().min(1),
  role: z.enum(["projectAdmin", "maintainer", "developer", "guest", "limitedGuest"]),
});

const robotSchema = z.strictObject({
  /** Short name: the robot logs in as robot$<project>+<name>. */
  name: z.string().regex(PROJECT_NAME, "expected lowercase letters and digits with . _ - between them"),
  actions: z.array(z.enum(["pull", "push", "delete"])).min(1),
  description: z.string().max(1024).default(""),
  /** Lifetime in days; -1 never expires. */
  duration: z.number().int().min(-1).default(-1),
  /** Bump to rotate the robot's secret. */
  secretVersion: z.number().int().min(1).default(1),
});

const projectSchema = z.strictObject({
  name: z.string().max(255).regex(PROJECT_NAME, "expected lowercase letters and digits with . _ - between them"),
  public: z.boolean().default(false),
  /** Storage quota in bytes; -1 for none. */
  storageLimit: z.number().int().min(-1).default(-1),
  /** Other Harbor project metadata, values as strings ("true"). */
  metadata: z.record(z.string(), z.string()).default({}),
  members: z.array(memberSchema).default([]),
  robots: z.array(robotSchema).default([]),
});

export const stackConfigSchema = z.strictObject({
  /** Where the registry runs: this machine, a Kubernetes cluster, or AWS. */
  target: z.enum(["local", "kubernetes", "aws"]).default("local"),
  local: localTargetSchema.prefault({}),
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
const SECRET_KEYS = new Set(["adminPassword", "users"]);

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
      const isSecret =
        SECRET_KEYS.has(String(issue.path[0])) || Boolean(secretKeys?.has(keyName(issue.path.slice(0, 1))));
      const got = isSecret ? "[secret]" : describe(valueAt(raw, issue.path));
      return `  ${keyName(issue.path)}: ${issue.message} (got ${got})`;
    });
    throw new StackConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
  }

  const warnings: string[] = [];
  for (const key of secretKeys ? SECRET_KEYS : []) {
    const fullKey = `${prefix}${key}`;
    if (entries[fullKey] !== undefined && !secretKeys?.has(fullKey)) {
      warnings.push(`${fullKey} is stored in clear text: set it with \`pulumi config set --secret ${fullKey}\``);
    }
  }
  return { config: result.data, warnings };
}
