// Which provider plugins a stack needs, read from its stack file, so that the set-up installs only
// those (a Kubernetes plugin is minutes of Go compilation the local stack never uses).
//
// The engine loads a provider plugin only when the program registers a resource of that provider,
// and which providers the program registers follows from the stack's target alone (index.ts): the
// local target runs the server on this machine through dynamic providers, which the SDK's
// `pulumi-resource-pulumi-nodejs` helper serves; the kubernetes target declares a Kubernetes
// provider; the aws target the AWS provider's resources. The language host still reports every
// provider package in node_modules, which costs nothing: the engine may not download plugins
// (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) and does not require the ones it never loads.
//
// The target is `airlock:target` in Pulumi.<stack>.yaml, else in Pulumi.yaml's `config`, else the
// schema's default, `local` (components/stack-config.ts). test/unit/stack-plugins.test.ts checks
// this table against the resources each stack file's graph registers.
//
// Usage: node stack-plugins.mts <stack> [project directory]   prints one plugin name a line

import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { parse } from "yaml";

/** The provider plugins each target's resources need. */
export const TARGET_PLUGINS = {
  local: [],
  kubernetes: ["kubernetes"],
  aws: ["aws"],
} as const satisfies Record<string, readonly string[]>;

export type Target = keyof typeof TARGET_PLUGINS;

/** A stack file or Pulumi.yaml that names a target the program does not know. */
export class StackTargetError extends Error {
  override name = "StackTargetError";
}

const isTarget = (value: string): value is Target => Object.hasOwn(TARGET_PLUGINS, value);

/**
 * `airlock:target` from a stack file's or Pulumi.yaml's text; undefined when it is not set. In
 * Pulumi.yaml a key may be a plain value or `{ value: … }` / `{ default: … }`.
 */
function declaredTarget(yamlText: string | undefined, source: string): string | undefined {
  if (yamlText === undefined) return undefined;
  const document = (parse(yamlText) ?? {}) as { config?: Record<string, unknown> };
  let value = document.config?.["airlock:target"];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const entry = value as { value?: unknown; default?: unknown };
    value = entry.value ?? entry.default;
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new StackTargetError(`${source}: airlock:target must be a string`);
  return value;
}

/** The stack's target: the stack file's, else the project's, else `local`. */
export function stackTarget(stackFileText: string | undefined, projectFileText?: string): Target {
  const target =
    declaredTarget(stackFileText, "stack file") ?? declaredTarget(projectFileText, "Pulumi.yaml") ?? "local";
  if (!isTarget(target)) {
    const known = Object.keys(TARGET_PLUGINS).join(", ");
    throw new StackTargetError(`airlock:target ${JSON.stringify(target)} is not a target (${known})`);
  }
  return target;
}

/** The provider plugins the stack's program loads. */
export function stackPlugins(stackFileText: string | undefined, projectFileText?: string): readonly string[] {
  return TARGET_PLUGINS[stackTarget(stackFileText, projectFileText)];
}

function readIfPresent(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

if (import.meta.main) {
  const [stack, projectDir = process.cwd()] = process.argv.slice(2);
  if (!stack) {
    process.stderr.write("usage: stack-plugins.mts <stack> [project directory]\n");
    process.exit(2);
  }
  try {
    // A stack without a file of its own yet (`pulumi stack init` writes none) has the defaults.
    const plugins = stackPlugins(
      readIfPresent(path.join(projectDir, `Pulumi.${stack}.yaml`)),
      readIfPresent(path.join(projectDir, "Pulumi.yaml")),
    );
    for (const plugin of plugins) process.stdout.write(`${plugin}\n`);
  } catch (err) {
    if (!(err instanceof StackTargetError)) throw err;
    process.stderr.write(`error: Pulumi.${stack}.yaml: ${err.message}\n`);
    process.exit(1);
  }
}
