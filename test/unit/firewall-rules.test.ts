// The firewall rules derived from zones, upstream endpoints and the egress proxy, and their
// NetworkPolicies: pure functions, no engine.

import { describe, expect, it } from "vitest";
import {
  bypassesProxy,
  deriveFirewallRules,
  ingressSourceRanges,
  type FirewallInputs,
  type FirewallRule,
} from "../../components/network/derive-rules";
import { DEFAULT_DENY_POLICY, networkPolicyManifests } from "../../components/network/network-policies";
import { declareZones, isCidr, type NetworkZonesArgs } from "../../components/network/network-zones";

const DOCKER_HUB = { name: "dockerhub", url: "https://hub.docker.com" };
const QUAY = { name: "quay", url: "https://quay.io" };
const CUSTOMER = { name: "customer-a", url: "https://registry.customer-a.corp.example:8443" };
const PROXY = "http://proxy.dmz.internal:3128";

function inputs(zones: NetworkZonesArgs, overrides: Partial<FirewallInputs> = {}): FirewallInputs {
  return {
    zones: declareZones(zones),
    upstreams: [DOCKER_HUB, QUAY],
    egress: { httpsProxy: PROXY },
    port: 5443,
    ingress: true,
    monitoring: false,
    backends: [],
    ...overrides,
  };
}

const ZONES: NetworkZonesArgs = {
  proxy: { egressProxyCidrs: ["10.20.0.10/32"] },
  production: { namespaces: ["production"], cidrs: ["10.40.0.0/16"] },
  cluster: { nodeCidrs: ["10.30.0.0/24"] },
};

const names = (rules: FirewallRule[]) => rules.map((rule) => rule.name);
const egress = (rules: FirewallRule[]) => rules.filter((rule) => rule.direction === "egress");

describe("firewall rules", () => {
  it("send every upstream through the egress proxy on one path, plus DNS", () => {
    const rules = deriveFirewallRules(inputs(ZONES));
    expect(egress(rules)).toEqual([
      expect.objectContaining({ name: "egress-dns", zone: "cluster" }),
      {
        name: "egress-proxy-proxy-dmz-internal-3128",
        direction: "egress",
        zone: "proxy",
        peer: { cidrs: ["10.20.0.10/32"] },
        ports: [{ protocol: "TCP", port: 3128 }],
        purpose: "upstreams dockerhub, quay through the egress proxy proxy.dmz.internal:3128",
      },
    ]);
    expect(rules.find((r) => r.name === "egress-dns")?.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
  });

  it("open exactly one more path for an upstream reached directly, and none for one more behind the proxy", () => {
    const before = deriveFirewallRules(inputs(ZONES));
    const behindProxy = deriveFirewallRules(
      inputs(ZONES, { upstreams: [DOCKER_HUB, QUAY, { name: "ghcr", url: "https://ghcr.io" }] }),
    );
    expect(names(behindProxy)).toEqual(names(before));

    const direct = deriveFirewallRules(
      inputs(
        { ...ZONES, internet: { endpoints: { "customer-a": ["203.0.113.0/28"] } } },
        { upstreams: [DOCKER_HUB, QUAY, CUSTOMER], egress: { httpsProxy: PROXY, noProxy: ".corp.example" } },
      ),
    );
    const added = direct.filter((rule) => !names(before).includes(rule.name));
    expect(added).toEqual([
      {
        name: "egress-upstream-customer-a",
        direction: "egress",
        zone: "internet",
        peer: { cidrs: ["203.0.113.0/28"] },
        ports: [{ protocol: "TCP", port: 8443 }],
        purpose: "upstream customer-a (registry.customer-a.corp.example:8443), reached directly",
      },
    ]);
  });

  it("give each upstream its own path on 443 when there is no proxy", () => {
    const rules = deriveFirewallRules(
      inputs(
        { ...ZONES, internet: { endpoints: { dockerhub: ["198.51.100.0/24"], quay: ["192.0.2.0/24"] } } },
        { egress: {} },
      ),
    );
    expect(egress(rules).map((r) => [r.name, r.peer, r.ports])).toEqual([
      ["egress-dns", expect.anything(), expect.anything()],
      ["egress-upstream-dockerhub", { cidrs: ["198.51.100.0/24"] }, [{ protocol: "TCP", port: 443 }]],
      ["egress-upstream-quay", { cidrs: ["192.0.2.0/24"] }, [{ protocol: "TCP", port: 443 }]],
    ]);
  });

  it("give webhook targets a path: through the proxy with the upstreams, or directly to their CIDRs", () => {
    const hook = { name: "production-security", url: "https://security.dmz.internal/hooks", kind: "webhook" as const };
    const slack = { name: "production-chat", url: "https://hooks.slack.com/services/T0", kind: "webhook" as const };
    const rules = deriveFirewallRules(
      inputs(
        { ...ZONES, internet: { endpoints: { "production-security": ["10.20.0.40/32"] } } },
        { upstreams: [DOCKER_HUB, hook, slack], egress: { httpsProxy: PROXY, noProxy: ".dmz.internal" } },
      ),
    );
    expect(egress(rules).map((r) => [r.name, r.peer, r.purpose])).toEqual([
      ["egress-dns", expect.anything(), expect.anything()],
      [
        "egress-webhook-production-security",
        { cidrs: ["10.20.0.40/32"] },
        "webhook target production-security (security.dmz.internal), reached directly",
      ],
      [
        "egress-proxy-proxy-dmz-internal-3128",
        { cidrs: ["10.20.0.10/32"] },
        "upstreams dockerhub, webhook production-chat through the egress proxy proxy.dmz.internal:3128",
      ],
    ]);
    expect(() =>
      deriveFirewallRules(
        inputs(ZONES, { upstreams: [hook], egress: { httpsProxy: PROXY, noProxy: ".dmz.internal" } }),
      ),
    ).toThrow(/internet\.endpoints\.production-security: https:\/\/security\.dmz\.internal\/hooks is reached directly/);
  });

  it("refuse a path they cannot draw, naming what to declare", () => {
    expect(() => deriveFirewallRules(inputs({ ...ZONES, proxy: {} }))).toThrow(
      /proxy\.egressProxyCidrs: the upstreams dockerhub, quay go through proxy\.dmz\.internal:3128/,
    );
    expect(() => deriveFirewallRules(inputs(ZONES, { egress: {} }))).toThrow(
      /internet\.endpoints\.dockerhub: https:\/\/hub\.docker\.com is reached directly[\s\S]*internet\.endpoints\.quay/,
    );
    expect(() =>
      deriveFirewallRules(inputs({ ...ZONES, internet: { endpoints: { dockerhib: ["192.0.2.1/32"] } } })),
    ).toThrow(/internet\.endpoints\.dockerhib: no upstream registry endpoint or webhook target has that name/);
    expect(() =>
      deriveFirewallRules(inputs(ZONES, { backends: [{ name: "postgres", cidrs: [], port: 5432 }] })),
    ).toThrow(/postgres: the registry needs the CIDRs/);
    expect(() => deriveFirewallRules(inputs({ proxy: ZONES.proxy ?? {} }, { ingress: false }))).toThrow(
      /nobody may reach the registry/,
    );
  });

  it("let in the ingress controller, Prometheus, the production namespaces and the pulling nodes", () => {
    const rules = deriveFirewallRules(
      inputs(ZONES, { monitoring: true, backends: [{ name: "s3", cidrs: ["10.50.0.0/24"], port: 9000 }] }),
    );
    const inbound = rules.filter((rule) => rule.direction === "ingress");
    expect(inbound.map((r) => [r.name, r.zone, r.peer])).toEqual([
      ["ingress-controller", "proxy", { namespaces: ["ingress-nginx"] }],
      ["ingress-monitoring", "cluster", { namespaces: ["monitoring"] }],
      ["ingress-production-namespaces", "production", { namespaces: ["production"] }],
      ["ingress-cluster-nodes", "cluster", { cidrs: ["10.30.0.0/24"] }],
      ["ingress-production-nodes", "production", { cidrs: ["10.40.0.0/16"] }],
    ]);
    for (const rule of inbound) expect(rule.ports).toEqual([{ protocol: "TCP", port: 5443 }]);
    expect(rules.find((r) => r.name === "egress-s3")).toMatchObject({
      peer: { cidrs: ["10.50.0.0/24"] },
      ports: [{ protocol: "TCP", port: 9000 }],
    });
    expect(ingressSourceRanges(declareZones(ZONES))).toEqual(["10.30.0.0/24", "10.40.0.0/16"]);
  });

  it("decide the proxy by the server's noProxy grammar", () => {
    expect(bypassesProxy("registry.corp.example", 443, ".corp.example")).toBe(true);
    expect(bypassesProxy("corp.example", 443, ".corp.example")).toBe(false);
    expect(bypassesProxy("corp.example", 443, "corp.example")).toBe(true);
    expect(bypassesProxy("a.corp.example", 443, "*.corp.example")).toBe(true);
    expect(bypassesProxy("quay.io", 443, "quay.io:8443")).toBe(false);
    expect(bypassesProxy("quay.io", 8443, "quay.io:8443")).toBe(true);
    expect(bypassesProxy("10.1.2.3", 443, "10.0.0.0/8")).toBe(true);
    expect(bypassesProxy("registry.10.example", 443, "10.0.0.0/8")).toBe(false);
    expect(bypassesProxy("[::1]", 443, "::1")).toBe(true);
    expect(bypassesProxy("anything", 443, "*")).toBe(true);
    expect(bypassesProxy("quay.io", 443, undefined)).toBe(false);
  });
});

describe("zones", () => {
  it("fill the defaults and check CIDRs and namespaces", () => {
    expect(declareZones({})).toEqual({
      internet: { endpoints: {} },
      proxy: { egressProxyCidrs: [], ingressControllerNamespace: "ingress-nginx" },
      production: { namespaces: [], cidrs: [] },
      cluster: {
        nodeCidrs: [],
        dnsNamespace: "kube-system",
        dnsPodLabels: { "k8s-app": "kube-dns" },
        monitoringNamespace: "monitoring",
      },
    });
    expect(() =>
      declareZones({ cluster: { nodeCidrs: ["10.0.0.0/33"] }, production: { namespaces: ["Prod"] } }),
    ).toThrow(
      /production\.namespaces: "Prod" is not a namespace name[\s\S]*cluster\.nodeCidrs: "10\.0\.0\.0\/33" is not a CIDR/,
    );
    expect(isCidr("2001:db8::/32")).toBe(true);
    expect(isCidr("10.0.0.1")).toBe(false);
  });
});

describe("NetworkPolicies", () => {
  it("deny everything in the namespace, then open one path per rule for the registry's pods", () => {
    const podLabels = { "app.kubernetes.io/name": "airlock-registry" };
    const manifests = networkPolicyManifests(deriveFirewallRules(inputs(ZONES)), podLabels);
    expect(manifests[0]).toMatchObject({
      name: DEFAULT_DENY_POLICY,
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    });
    const byName = Object.fromEntries(manifests.map((m) => [m.name, m.spec]));
    expect(byName["egress-dns"]).toEqual({
      podSelector: { matchLabels: podLabels },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
          ],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
      ],
    });
    expect(byName["egress-proxy-proxy-dmz-internal-3128"]?.egress).toEqual([
      { to: [{ ipBlock: { cidr: "10.20.0.10/32" } }], ports: [{ protocol: "TCP", port: 3128 }] },
    ]);
    expect(byName["ingress-controller"]).toEqual({
      podSelector: { matchLabels: podLabels },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
          ports: [{ protocol: "TCP", port: 5443 }],
        },
      ],
    });
    expect(byName["ingress-production-nodes"]?.ingress).toEqual([
      { from: [{ ipBlock: { cidr: "10.40.0.0/16" } }], ports: [{ protocol: "TCP", port: 5443 }] },
    ]);
    expect(manifests.map((m) => m.name)).toEqual([
      "default-deny",
      "egress-dns",
      "egress-proxy-proxy-dmz-internal-3128",
      "ingress-controller",
      "ingress-production-namespaces",
      "ingress-cluster-nodes",
      "ingress-production-nodes",
    ]);
  });
});
