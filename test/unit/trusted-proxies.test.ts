// Where each deployment target tells the server which reverse proxy's X-Forwarded-For to believe
// (`http.trustedProxies`): on Kubernetes the stack names the Ingress controller's pod ranges
// (Pulumi cannot know them); on AWS an application load balancer's subnets are derived, and a
// network load balancer, which adds no header, gets none.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { trustedProxies } from "../../components/aws/aws-registry";
import { KubernetesSettingsError, validateKubernetesSettings } from "../../components/kubernetes/registry-settings";
import { serverConfig } from "../../components/kubernetes/server-config";
import { parseStackConfig, StackConfigError } from "../../components/stack-config";
import { registryServerArgs } from "../../components/stack-targets";

const ROOT = path.resolve(__dirname, "..", "..");

const BASE = {
  port: 5443,
  adminUsername: "admin",
  logLevel: "info",
  shutdownTimeoutSeconds: 30,
  upstream: {},
  mirror: {},
  storage: { type: "filesystem" as const },
  metadata: { type: "sqlite" as const },
};

function kubernetesStack(ingress: Record<string, unknown>): Record<string, string> {
  return {
    "airlock:target": "kubernetes",
    "airlock:kubernetes": JSON.stringify({ image: "registry.example/airlock:0.1.0", ingress }),
  };
}

describe("trusted proxies on Kubernetes", () => {
  it("go into the server's http section when the stack names them, in a form the server accepts", async () => {
    const config = serverConfig({ ...BASE, trustedProxies: ["10.42.0.0/16"] });
    expect(config["http"]).toMatchObject({ trustedProxies: ["10.42.0.0/16"] });
    expect((serverConfig({ ...BASE }) as { http: Record<string, unknown> }).http["trustedProxies"]).toBeUndefined();
    expect(
      (serverConfig({ ...BASE, trustedProxies: [] }) as { http: Record<string, unknown> }).http,
    ).not.toHaveProperty("trustedProxies");
    const server = (await import(path.join(ROOT, "registry-server", "src", "config.ts"))) as {
      parseFileConfig(raw: unknown, source: string): { http: { trustedProxies: string[] } };
    };
    expect(server.parseFileConfig(config, "the Kubernetes configuration").http.trustedProxies).toEqual([
      "10.42.0.0/16",
    ]);
  });

  it("come from airlock:kubernetes ingress.trustedProxies, checked as CIDRs", () => {
    const { config } = parseStackConfig(
      kubernetesStack({ host: "registry.dmz.example", trustedProxies: ["10.42.0.0/16", "fd00:42::/56"] }),
    );
    const args = registryServerArgs(config, ".airlock/test");
    expect(args.kubernetes?.ingress?.trustedProxies).toEqual(["10.42.0.0/16", "fd00:42::/56"]);
    const refused = (ingress: Record<string, unknown>): string => {
      try {
        parseStackConfig(kubernetesStack(ingress));
      } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as Error).message;
      }
      throw new Error("expected the configuration to be refused");
    };
    expect(refused({ host: "registry.dmz.example", trustedProxies: ["ingress-nginx"] })).toContain(
      "airlock:kubernetes.ingress.trustedProxies[0]: expected a CIDR",
    );
    expect(refused({ host: "registry.dmz.example", trustedProxies: ["0.0.0.0/0"] })).toContain("trusts every client");
  });

  it("are checked by the component's own validation too", () => {
    const shape = {
      namespace: "airlock",
      replicas: 1,
      port: 5443,
      storage: { type: "filesystem" as const },
      metadata: { type: "sqlite" as const },
      tls: {},
      resources: {},
      monitoring: {},
      imagePullSecrets: [],
    };
    expect(() =>
      validateKubernetesSettings({ ...shape, ingress: { host: "r.example", trustedProxies: ["10.42.0.0/16"] } }),
    ).not.toThrow();
    expect(() =>
      validateKubernetesSettings({ ...shape, ingress: { host: "r.example", trustedProxies: ["10.42.0.0", "::/0"] } }),
    ).toThrow(KubernetesSettingsError);
  });
});

describe("trusted proxies on AWS", () => {
  it("are an application load balancer's subnets, and nothing behind a network load balancer", () => {
    expect(trustedProxies("application", ["10.80.0.0/20", "10.80.16.0/20"])).toEqual(["10.80.0.0/20", "10.80.16.0/20"]);
    expect(trustedProxies("network", ["10.80.0.0/20", "10.80.16.0/20"])).toEqual([]);
  });
});
