// The provider plugins the set-up installs for a stack (scripts/pulumi/stack-plugins.mts) are the
// ones its program loads: for every stack file, the packages of the resources its graph registers
// under Pulumi's mocks, through the path index.ts takes (stack configuration → registryServerArgs
// → RegistryServer). Dynamic providers and components need no plugin of their own.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REGISTRY_SERVER_TARGETS, RegistryServer } from "../../components/registry-server";
import { parseStackConfig } from "../../components/stack-config";
import { registryServerArgs } from "../../components/stack-targets";
import { StackTargetError, TARGET_PLUGINS, stackPlugins, stackTarget } from "../../scripts/pulumi/stack-plugins.mjs";
import { type Registered, settled } from "./mocked-resources";

const ROOT = path.resolve(__dirname, "..", "..");
const STACK_FILES = readdirSync(ROOT).filter(
  (file) => /^Pulumi\.(?!e2e-)[\w-]+\.yaml$/.test(file) && file !== "Pulumi.yaml",
);
const PROJECT_FILE = readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
/** Packages whose resources run without a provider plugin to install. */
const NO_PLUGIN = new Set(["airlock", "pulumi-nodejs", "pulumi"]);

let registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        // The outputs the components read back from their own resources.
        const outputs: Record<string, unknown> = { ...inputs };
        const metadata = inputs["metadata"] as Record<string, unknown> | undefined;
        if (args.type.startsWith("kubernetes:") && metadata && metadata["name"] === undefined)
          outputs["metadata"] = { ...metadata, name: `${args.name}-0000` };
        if (/(CertificateAuthority|TlsCertificate)$/.test(args.type))
          Object.assign(outputs, { certPem: "PEM", keyPem: "KEY" });
        if (args.type.endsWith("GeneratedPassword")) Object.assign(outputs, { value: "generated-password" });
        if (args.type.endsWith("ServerProcess")) Object.assign(outputs, { pid: 4242 });
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

/** A stack file as the program reads it: structured values as JSON text, install secrets stood in. */
function configEntries(file: string): Record<string, string> {
  const document = parse(readFileSync(path.join(ROOT, file), "utf8")) as { config?: Record<string, unknown> };
  const config = document.config ?? {};
  for (const registry of (config["airlock:registries"] ?? []) as Array<{ credential?: Record<string, string> }>) {
    if (registry.credential) registry.credential["accessSecret"] = "set-per-installation";
  }
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

/** The package of a resource type token (`kubernetes:apps/v1:Deployment` → kubernetes). */
function packageOf(type: string): string {
  // Explicit providers are `pulumi:providers:<package>`.
  const provider = /^pulumi:providers:(.+)$/.exec(type);
  return provider?.[1] ?? type.split(":")[0] ?? type;
}

describe("the provider plugins a stack needs", () => {
  it("are none for the embedded local stack and the Kubernetes one for the DMZ stack", () => {
    const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
    expect(stackPlugins(read("Pulumi.local.yaml"), PROJECT_FILE)).toEqual([]);
    expect(stackPlugins(read("Pulumi.dmz.yaml"), PROJECT_FILE)).toEqual(["kubernetes"]);
    expect(stackPlugins(read("Pulumi.aws-dmz.yaml"), PROJECT_FILE)).toEqual(["aws"]);
  });

  for (const file of STACK_FILES) {
    it(`are those of the resources ${file} registers`, async () => {
      const { config } = parseStackConfig(configEntries(file));
      const text = readFileSync(path.join(ROOT, file), "utf8");
      expect(stackTarget(text, PROJECT_FILE)).toBe(config.target);

      new RegistryServer("registry", registryServerArgs(config, "/unused"));
      await settled(registered);
      const packages = new Set(registered.map((r) => packageOf(r.type)).filter((p) => !NO_PLUGIN.has(p)));
      // index.ts adds the Kubernetes provider itself for the kubernetes target.
      if (config.target === "kubernetes") packages.add("kubernetes");
      expect(registered.length).toBeGreaterThan(0);
      expect([...packages].sort()).toEqual([...stackPlugins(text, PROJECT_FILE)].sort());
    });
  }

  it("cover every target RegistryServer knows", () => {
    expect(Object.keys(TARGET_PLUGINS).sort()).toEqual([...REGISTRY_SERVER_TARGETS].sort());
  });

  it("follow the project's target when the stack file sets none, and default to local", () => {
    const project = (value: string) => `name: p\nconfig:\n  airlock:target:\n    value: ${value}\n`;
    expect(stackTarget("config:\n  airlock:adminUsername: root\n", project("kubernetes"))).toBe("kubernetes");
    expect(stackTarget("config:\n  airlock:target: local\n", project("kubernetes"))).toBe("local");
    expect(stackTarget(undefined, PROJECT_FILE)).toBe("local");
    expect(stackTarget("", undefined)).toBe("local");
    expect(stackPlugins(undefined, "config:\n  airlock:target:\n    default: kubernetes\n")).toEqual(["kubernetes"]);
  });

  it("refuse a target the program does not know, naming the known ones", () => {
    expect(() => stackTarget("config:\n  airlock:target: nomad\n")).toThrow(StackTargetError);
    expect(() => stackTarget("config:\n  airlock:target: nomad\n")).toThrow(/"nomad".*local, kubernetes, aws/);
    expect(() => stackTarget("config:\n  airlock:target: [local]\n")).toThrow(/must be a string/);
  });
});
