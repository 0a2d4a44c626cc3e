// RegistryServer under Pulumi's mocks: the target decides the graph, the outputs are the same
// whatever the target, and the DMZ stack file itself builds its Kubernetes graph (the stack
// configuration → registryServerArgs → RegistryServer path that index.ts takes).

import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RegistryServer, RegistryServerError, validateRegistryServerArgs } from "../../components/registry-server";
import { parseStackConfig, type StackConfig } from "../../components/stack-config";
import { registryServerArgs } from "../../components/stack-targets";
import { outputOf, settled } from "./mocked-resources";

const ROOT = path.resolve(__dirname, "..", "..");
let registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

/** Pulumi.dmz.yaml as the program reads it, with stand-ins for the secrets set per installation. */
function dmzStack(change: (config: Record<string, unknown>) => void = () => {}): StackConfig {
  const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  for (const registry of document.config["airlock:registries"] as Array<{ credential?: Record<string, string> }>) {
    if (registry.credential) registry.credential["accessSecret"] = "stand-in";
  }
  change(document.config);
  const entries = Object.fromEntries(
    Object.entries(document.config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
  return parseStackConfig(entries).config;
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        const outputs: Record<string, unknown> = { ...inputs };
        const metadata = inputs["metadata"] as Record<string, unknown> | undefined;
        if (args.type.startsWith("kubernetes:") && metadata && metadata["name"] === undefined)
          outputs["metadata"] = { ...metadata, name: `${args.name}-0000` };
        if (args.type.endsWith("CertificateAuthority")) Object.assign(outputs, { certPem: "CA-PEM", keyPem: "CA-KEY" });
        if (args.type.endsWith("TlsCertificate")) Object.assign(outputs, { certPem: "CERT-PEM", keyPem: "CERT-KEY" });
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

describe("RegistryServer", () => {
  it("refuses a target without its settings, with a clear message, before declaring anything", () => {
    expect(() => new RegistryServer("r", { target: "aws" })).toThrow(RegistryServerError);
    expect(() => validateRegistryServerArgs({ target: "aws" })).toThrow(/target "aws" needs `aws`/);
    expect(() => validateRegistryServerArgs({ target: "kubernetes" })).toThrow(/needs `kubernetes`/);
    expect(registered).toEqual([]);
  });

  it("wraps LocalRegistry for the local target, under the name the stacks already have", async () => {
    const server = new RegistryServer("registry", {
      target: "local",
      local: { port: 6010, stateDir: "/srv/airlock" },
      adminUsername: "root",
    });
    expect(await outputOf(server.connection)).toEqual({
      url: "https://localhost:6010",
      username: "root",
      password: "generated-password",
      caPem: "CA-PEM",
    });
    await settled(registered);
    expect(server.local).toBeDefined();
    expect(server.kubernetes).toBeUndefined();
    expect(registered.filter((r) => r.type.startsWith("airlock:")).map((r) => [r.type, r.name])).toEqual([
      ["airlock:server:RegistryServer", "registry"],
      ["airlock:local:LocalRegistry", "registry"],
    ]);
  });

  it("deploys the DMZ stack file to Kubernetes with its zones' NetworkPolicies and monitoring", async () => {
    const config = dmzStack();
    const server = new RegistryServer("registry", registryServerArgs(config, "/unused"));
    const connection = await outputOf(server.connection);
    await settled(registered);
    expect(connection).toMatchObject({ url: "https://registry.dmz.internal", username: "admin", caPem: "CA-PEM" });
    expect(await outputOf(server.url)).toBe("https://registry.dmz.internal");

    const count = (type: string) => registered.filter((r) => r.type === type).length;
    expect(count("airlock:network:NetworkZones")).toBe(1);
    expect(count("airlock:network:FirewallRules")).toBe(1);
    expect(count("kubernetes:networking.k8s.io/v1:NetworkPolicy")).toBe(9);
    expect(count("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")).toBe(1);
    expect(count("kubernetes:monitoring.coreos.com/v1:PrometheusRule")).toBe(1);
    expect(count("kubernetes:apps/v1:Deployment")).toBe(1);
    expect(count("kubernetes:core/v1:PersistentVolumeClaim")).toBe(1);
    // Every upstream goes through the corporate proxy: one path out besides DNS, and one to the
    // security team's webhook endpoint, inside the DMZ (noProxy) at the CIDR the stack declares.
    expect(server.kubernetes?.firewall?.rules.filter((rule) => rule.direction === "egress").map((r) => r.name)).toEqual(
      ["egress-dns", "egress-webhook-production-security-team", "egress-proxy-proxy-dmz-internal-3128"],
    );
  });

  it("refuses a DMZ stack that the zones cannot serve, naming what is missing", () => {
    const config = dmzStack((c) => {
      const k8s = c["airlock:kubernetes"] as { zones: { proxy: Record<string, unknown> } };
      k8s.zones.proxy = {};
    });
    expect(() => new RegistryServer("registry", registryServerArgs(config, "/unused"))).toThrow(
      /proxy\.egressProxyCidrs: the upstreams dockerhub, gcr, quay, customer-a-registry, aws-ecr, azure-acr, lyon go through/,
    );
    expect(registered).toEqual([]);
  });
});
