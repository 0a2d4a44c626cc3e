// Each rule of the DMZ policy pack (policy/rules/), called with resources as the analyzer shows
// them: a type token, a name and the inputs. One case that breaks the rule and the cases that
// keep it, so that neither a violation nor a false alarm goes unnoticed.

import { describe, expect, it } from "vitest";
import { insecureUpstream } from "../../policy/rules/no-insecure-upstream";
import { publicProductionLoadBalancer } from "../../policy/rules/no-public-production-load-balancer";
import type { PolicySubject } from "../../policy/rules/policy-subject";
import { replicasWithoutSharedState } from "../../policy/rules/replicas-need-shared-state";
import { productionWithoutGate } from "../../policy/rules/production-security-gate";
import { robotWithoutExpiry } from "../../policy/rules/robots-expire";
import { withoutTls } from "../../policy/rules/tls-everywhere";
import { unsafeWebhookTargets } from "../../policy/rules/webhook-targets";

const subject = (type: string, props: Record<string, unknown>, name = "it"): PolicySubject => ({ type, name, props });

const LB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const TARGET_GROUP = "aws:lb/targetGroup:TargetGroup";
const SERVICE = "kubernetes:core/v1:Service";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const ENDPOINT = "pulumi-nodejs:dynamic/registry:RegistryEndpoint";
const ROBOT = "pulumi-nodejs:dynamic/registry:RobotAccount";
const PROJECT = "pulumi-nodejs:dynamic/registry:Project";
const PROXY_PROJECT = "pulumi-nodejs:dynamic/registry:ProxyProject";
const WEBHOOK = "pulumi-nodejs:dynamic/registry:WebhookPolicy";
const ECS_SERVICE = "aws:ecs/service:Service";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

describe("no-public-load-balancer-in-production", () => {
  it("refuses an internet-facing AWS load balancer tagged with the production zone", () => {
    const tags = { "airlock:zone": "production" };
    expect(publicProductionLoadBalancer(subject(LB, { internal: false, tags }))).toHaveLength(1);
    expect(publicProductionLoadBalancer(subject(LB, { tags }))).toHaveLength(1);
    expect(publicProductionLoadBalancer(subject(LB, { internal: true, tags }))).toEqual([]);
    expect(publicProductionLoadBalancer(subject(LB, { internal: false, tags: { "airlock:zone": "ingress" } }))).toEqual(
      [],
    );
  });

  it("refuses a LoadBalancer Service in a production namespace unless annotated internal", () => {
    const service = (namespace: string, annotations: Record<string, string> = {}, type = "LoadBalancer") =>
      subject(SERVICE, { metadata: { namespace, annotations }, spec: { type } });
    expect(publicProductionLoadBalancer(service("production"))).toHaveLength(1);
    expect(publicProductionLoadBalancer(service("apps"))).toEqual([]);
    expect(publicProductionLoadBalancer(service("apps"), { productionNamespaces: ["apps"] })).toHaveLength(1);
    expect(publicProductionLoadBalancer(service("production", {}, "ClusterIP"))).toEqual([]);
    expect(
      publicProductionLoadBalancer(
        service("production", { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" }),
      ),
    ).toEqual([]);
    expect(
      publicProductionLoadBalancer(service("production", { "networking.gke.io/load-balancer-type": "Internal" })),
    ).toEqual([]);
  });
});

describe("tls-everywhere", () => {
  it("accepts HTTPS and TLS listeners, HTTP only as a redirect to HTTPS, TCP only as TLS passthrough", () => {
    expect(withoutTls(subject(LISTENER, { protocol: "HTTPS" }))).toEqual([]);
    expect(withoutTls(subject(LISTENER, { protocol: "TLS" }))).toEqual([]);
    const redirect = { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } };
    expect(withoutTls(subject(LISTENER, { protocol: "HTTP", defaultActions: [redirect] }))).toEqual([]);
    expect(withoutTls(subject(LISTENER, { protocol: "HTTP", defaultActions: [{ type: "forward" }] }))).toHaveLength(1);
    expect(withoutTls(subject(LISTENER, { protocol: "TCP" }))).toHaveLength(1);
    expect(withoutTls(subject(LISTENER, { protocol: "TCP", tags: { "airlock:tls": "passthrough" } }))).toEqual([]);
    expect(withoutTls(subject(LISTENER, { protocol: "UDP" }))).toHaveLength(1);
  });

  it("refuses target groups reached over plain HTTP", () => {
    expect(withoutTls(subject(TARGET_GROUP, { protocol: "HTTP" }))).toHaveLength(1);
    expect(withoutTls(subject(TARGET_GROUP, { protocol: "HTTPS" }))).toEqual([]);
    expect(withoutTls(subject(TARGET_GROUP, {}))).toEqual([]);
  });

  it("wants every Ingress host under TLS and, with ingress-nginx, HTTPS to the pods and the redirect kept", () => {
    const rules = [{ host: "registry.dmz.example" }, { host: "mirror.dmz.example" }];
    const ingress = (tls: unknown[], annotations: Record<string, string> = {}) =>
      subject(INGRESS, {
        metadata: { annotations },
        spec: { ingressClassName: "nginx", tls, rules },
      });
    const https = { "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS" };
    expect(withoutTls(ingress([{ hosts: ["*.dmz.example"] }], https))).toEqual([]);
    expect(withoutTls(ingress([], https))).toEqual([
      "Ingress it has no TLS section: clients would pull over plain HTTP",
    ]);
    expect(withoutTls(ingress([{ hosts: ["registry.dmz.example"] }], https))).toEqual([
      "Ingress it serves mirror.dmz.example without TLS: add it to spec.tls[].hosts",
    ]);
    expect(withoutTls(ingress([{ hosts: ["*.example"] }], https))).toHaveLength(2);
    expect(withoutTls(ingress([{ hosts: ["*.dmz.example"] }]))).toEqual([
      "Ingress it reaches its pods over HTTP: set nginx.ingress.kubernetes.io/backend-protocol: HTTPS",
    ]);
    expect(
      withoutTls(
        ingress([{ hosts: ["*.dmz.example"] }], { ...https, "nginx.ingress.kubernetes.io/ssl-redirect": "false" }),
      ),
    ).toHaveLength(1);
  });

  it("refuses upstream endpoints over http://", () => {
    expect(withoutTls(subject(ENDPOINT, { url: "http://registry.partner.example" }))).toHaveLength(1);
    expect(withoutTls(subject(ENDPOINT, { url: "https://registry.partner.example" }))).toEqual([]);
  });
});

describe("no-insecure-upstream", () => {
  it("refuses an endpoint that skips certificate verification", () => {
    expect(insecureUpstream(subject(ENDPOINT, { url: "https://q", insecure: true }))).toHaveLength(1);
    expect(insecureUpstream(subject(ENDPOINT, { url: "https://q", insecure: false }))).toEqual([]);
    expect(insecureUpstream(subject(ENDPOINT, { url: "https://q" }))).toEqual([]);
    expect(insecureUpstream(subject(ROBOT, { insecure: true }))).toEqual([]);
  });
});

describe("webhooks-verified-and-authenticated", () => {
  const hook = (targets: unknown[], authHeaders: unknown = ["Bearer t"]) =>
    subject(WEBHOOK, { targets, authHeaders }, "security-team");

  it("refuses an http target over plain HTTP, without certificate verification, or without an auth header", () => {
    expect(unsafeWebhookTargets(hook([{ address: "http://security.dmz/hooks", type: "http" }]))).toEqual([
      "webhook policy security-team posts to http://security.dmz/hooks over plain HTTP: use https://",
    ]);
    expect(
      unsafeWebhookTargets(hook([{ address: "https://security.dmz/hooks", type: "http", skipCertVerify: true }])),
    ).toEqual([
      "webhook policy security-team posts to https://security.dmz/hooks without verifying its certificate " +
        "(skipCertVerify): trust its CA instead",
    ]);
    expect(unsafeWebhookTargets(hook([{ address: "https://security.dmz/hooks" }], [""]))).toEqual([
      "webhook policy security-team posts to https://security.dmz/hooks without an authHeader: the receiver " +
        "cannot tell the registry's deliveries from forged ones",
    ]);
    // Each target on its own: the second has no header.
    expect(
      unsafeWebhookTargets(hook([{ address: "https://a.dmz" }, { address: "https://b.dmz" }], ["Bearer a"])),
    ).toEqual([expect.stringContaining("posts to https://b.dmz without an authHeader")]);
  });

  it("accepts verified, authenticated HTTPS targets and Slack targets without a header; ignores other types", () => {
    expect(unsafeWebhookTargets(hook([{ address: "https://security.dmz/hooks", type: "http" }]))).toEqual([]);
    expect(unsafeWebhookTargets(hook([{ address: "https://hooks.slack.test/T/B/X", type: "slack" }], [""]))).toEqual(
      [],
    );
    expect(unsafeWebhookTargets(subject(ENDPOINT, { targets: [{ address: "http://x" }] }))).toEqual([]);
  });
});

describe("robots-must-expire", () => {
  it("refuses robots that never expire or outlive the ceiling", () => {
    expect(robotWithoutExpiry(subject(ROBOT, {}))).toEqual([
      "robot account it never expires: give it a duration in days (at most 365)",
    ]);
    expect(robotWithoutExpiry(subject(ROBOT, { duration: -1 }))).toHaveLength(1);
    expect(robotWithoutExpiry(subject(ROBOT, { duration: 400 }))).toHaveLength(1);
    expect(robotWithoutExpiry(subject(ROBOT, { duration: 400 }), { maxDurationDays: 500 })).toEqual([]);
    expect(robotWithoutExpiry(subject(ROBOT, { duration: 90 }))).toEqual([]);
    expect(robotWithoutExpiry(subject(ROBOT, { duration: 0 }))).toEqual([]);
  });
});

describe("production-projects-gate-pulls", () => {
  const gated = { name: "production", preventVulnerable: "high", requireSignature: true };

  it("refuses a production project that lets vulnerable or unsigned images be pulled, one message each", () => {
    expect(productionWithoutGate(subject(PROJECT, gated))).toEqual([]);
    const open = productionWithoutGate(subject(PROJECT, { name: "production" }));
    expect(open).toHaveLength(2);
    expect(open[0]).toContain("preventVulnerable");
    expect(open[1]).toContain("requireSignature");
    expect(productionWithoutGate(subject(PROJECT, { ...gated, preventVulnerable: false }))).toEqual([
      expect.stringContaining("vulnerable images"),
    ]);
    expect(productionWithoutGate(subject(PROJECT, { ...gated, requireSignature: false }))).toEqual([
      expect.stringContaining("unsigned images"),
    ]);
    expect(productionWithoutGate(subject(PROXY_PROJECT, { name: "production" }))).toHaveLength(2);
  });

  it("recognises production by the configured names, and reads Harbor's metadata keys too", () => {
    expect(productionWithoutGate(subject(PROJECT, { name: "team" }))).toEqual([]);
    expect(productionWithoutGate(subject(PROJECT, { name: "prod" }), { productionProjects: ["prod"] })).toHaveLength(2);
    expect(productionWithoutGate(subject(ROBOT, { name: "production" }))).toEqual([]);
    const metadata = { prevent_vul: "true", severity: "high", enable_content_trust_cosign: "true" };
    expect(productionWithoutGate(subject(PROJECT, { name: "production", metadata }))).toEqual([]);
  });
});

describe("replicas-need-s3-and-postgres", () => {
  const ecs = (desiredCount: number, storage: string, metadata: string) =>
    subject(ECS_SERVICE, {
      desiredCount,
      tags: { "airlock:component": "registry", "airlock:storage": storage, "airlock:metadata": metadata },
    });

  it("reads what an ECS service of the registry stores where from its tags", () => {
    expect(replicasWithoutSharedState([ecs(3, "s3", "postgres")])).toEqual([]);
    expect(replicasWithoutSharedState([ecs(1, "ephemeral", "sqlite")])).toEqual([]);
    expect(replicasWithoutSharedState([ecs(2, "s3", "sqlite")]).map((v) => v.message)).toEqual([
      "ECS service it runs 2 replicas with s3 storage and sqlite metadata: more than one replica needs S3 storage and PostgreSQL metadata",
    ]);
    expect(replicasWithoutSharedState([subject(ECS_SERVICE, { desiredCount: 5, tags: {} })])).toEqual([]);
  });

  it("reads a Deployment's volumes and its ConfigMap's server configuration", () => {
    const labels = { "app.kubernetes.io/name": "airlock-registry", "app.kubernetes.io/instance": "registry" };
    const deployment = (replicas: number, volume: Record<string, unknown>) =>
      subject(DEPLOYMENT, {
        metadata: { namespace: "airlock", labels },
        spec: { replicas, template: { spec: { volumes: [{ name: "data", ...volume }] } } },
      });
    const config = (text: string) =>
      subject(CONFIG_MAP, { metadata: { namespace: "airlock", labels }, data: { "config.yaml": text } }, "config");
    const shared = config("storage:\n  s3: { bucket: b }\nmetadata:\n  postgres: { url: postgres://db/a }\n");
    const alone = config("dataDir: /var/lib/airlock\n");

    expect(replicasWithoutSharedState([deployment(3, { emptyDir: {} }), shared])).toEqual([]);
    expect(replicasWithoutSharedState([deployment(1, { persistentVolumeClaim: { claimName: "d" } }), alone])).toEqual(
      [],
    );
    const found = replicasWithoutSharedState([deployment(2, { persistentVolumeClaim: { claimName: "d" } }), alone]);
    expect(found.map((v) => v.resource.type)).toEqual([DEPLOYMENT, DEPLOYMENT]);
    expect(found[1]?.message).toContain("has no storage.s3 and metadata.postgres");
    // Another application's Deployment is none of the pack's business.
    const other = subject(DEPLOYMENT, {
      metadata: { labels: { app: "web" } },
      spec: { replicas: 5, template: { spec: { volumes: [{ persistentVolumeClaim: { claimName: "w" } }] } } },
    });
    expect(replicasWithoutSharedState([other])).toEqual([]);
  });
});
