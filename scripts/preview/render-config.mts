// Writes the configuration file of a throwaway stack that renders a stack's manifests: the
// stack's `config` as committed, minus anything encrypted by its own secrets provider (which the
// throwaway's passphrase cannot read), with `airlock:kubernetes.renderYamlToDirectory` set.
// Prints, one per line, the `--path` keys of the secrets the configuration needs and does not
// carry (upstream credentials, S3 and database passwords, users' passwords), which the caller sets
// to stand-in values as secrets: they never leave the throwaway stack, and a render sends them
// nowhere.
// Usage: node render-config.mts <Pulumi.<stack>.yaml> <output file> <render directory>

import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parse, stringify } from "yaml";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const [stackFile, outputFile, renderDir] = process.argv.slice(2);
if (!stackFile || !outputFile || !renderDir) {
  process.stderr.write("usage: render-config.mts <stack file> <output file> <render directory>\n");
  process.exit(2);
}

const document = (parse(readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, Json> };
const config: Record<string, Json> = { ...document.config };
const standIns: string[] = [];

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Drops `secure:` values (another provider's ciphertext), noting where they were. */
function dropEncrypted(value: Json, path: string): Json | undefined {
  if (isObject(value)) {
    if (typeof value["secure"] === "string" && Object.keys(value).length === 1) {
      standIns.push(path);
      return undefined;
    }
    const kept: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      const next = dropEncrypted(item, `${path}.${key}`);
      if (next !== undefined) kept[key] = next;
    }
    return kept;
  }
  if (Array.isArray(value)) return value.map((item, index) => dropEncrypted(item, `${path}[${index}]`) ?? null);
  return value;
}

for (const [key, value] of Object.entries(config)) {
  const kept = dropEncrypted(value, key);
  if (kept === undefined) delete config[key];
  else config[key] = kept;
}

/** The secrets a stack file leaves to `pulumi config set --secret` at installation. */
function missingSecrets(): void {
  const registries = config["airlock:registries"];
  (Array.isArray(registries) ? registries : []).forEach((registry, index) => {
    const credential = isObject(registry) ? registry["credential"] : undefined;
    if (isObject(credential) && credential["accessSecret"] === undefined)
      standIns.push(`airlock:registries[${index}].credential.accessSecret`);
  });
  const users = config["airlock:users"];
  (Array.isArray(users) ? users : []).forEach((user, index) => {
    if (isObject(user) && user["password"] === undefined) standIns.push(`airlock:users[${index}].password`);
  });
  const k8s = config["airlock:kubernetes"];
  const storage = isObject(k8s) ? k8s["storage"] : undefined;
  if (isObject(storage) && storage["accessKeyId"] !== undefined && storage["secretAccessKey"] === undefined)
    standIns.push("airlock:kubernetes.storage.secretAccessKey");
  const metadata = isObject(k8s) ? k8s["metadata"] : undefined;
  if (
    isObject(metadata) &&
    metadata["type"] === "postgres" &&
    metadata["password"] === undefined &&
    metadata["existingSecret"] === undefined
  )
    standIns.push("airlock:kubernetes.metadata.password");
}
missingSecrets();

const k8s = config["airlock:kubernetes"];
config["airlock:kubernetes"] = { ...(isObject(k8s) ? k8s : {}), renderYamlToDirectory: renderDir };
writeFileSync(outputFile, stringify({ config }));
process.stdout.write([...new Set(standIns)].map((path) => `${path}\n`).join(""));
