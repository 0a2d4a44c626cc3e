// The program of the policy-pack end-to-end test: one resource per DMZ rule, declared to keep the
// rule or, with `airlock:breakRules`, to break it. Only previewed: the Kubernetes provider renders
// to a directory (no cluster) and the registry resources are only checked, so no server runs.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RegistryEndpoint } from "../../../../components/registry/registry-endpoint";
import { Project } from "../../../../components/registry/project";
import { projectAccess, RobotAccount } from "../../../../components/registry/robot-account";
import { WebhookPolicy } from "../../../../components/registry/webhook-policy";

const config = new pulumi.Config("airlock");
const bad = config.requireBoolean("breakRules");
const connection = { url: "https://registry.dmz.example", username: "admin", password: "Unused-in-a-preview-1" };
const labels = { "app.kubernetes.io/name": "airlock-registry", "app.kubernetes.io/instance": "registry" };
const provider = new k8s.Provider("render", { renderYamlToDirectory: config.require("renderDir") });
const opts = { provider };
const metadata = (namespace: string) => ({ name: "registry", namespace, labels });

// no-public-load-balancer-in-production: a LoadBalancer Service in the production namespace.
new k8s.core.v1.Service(
  "pull-endpoint",
  {
    metadata: metadata("production"),
    spec: { type: bad ? "LoadBalancer" : "ClusterIP", selector: labels, ports: [{ port: 443, targetPort: 5443 }] },
  },
  opts,
);

// tls-everywhere: an Ingress without TLS, reaching its pods over plain HTTP.
new k8s.networking.v1.Ingress(
  "registry",
  {
    metadata: {
      ...metadata("airlock"),
      annotations: { "nginx.ingress.kubernetes.io/backend-protocol": bad ? "HTTP" : "HTTPS" },
    },
    spec: {
      ingressClassName: "nginx",
      ...(!bad && { tls: [{ hosts: ["registry.dmz.example"], secretName: "registry-tls" }] }),
      rules: [
        {
          host: "registry.dmz.example",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "registry", port: { number: 5443 } } },
              },
            ],
          },
        },
      ],
    },
  },
  opts,
);

// replicas-need-s3-and-postgres: three replicas over a volume and a configuration without S3.
new k8s.core.v1.ConfigMap(
  "registry",
  {
    metadata: metadata("airlock"),
    data: {
      "config.yaml": bad
        ? "dataDir: /var/lib/airlock\n"
        : "dataDir: /var/lib/airlock\nstorage:\n  s3: { bucket: airlock-blobs }\nmetadata:\n  postgres: { url: postgres://airlock@db/airlock }\n",
    },
  },
  opts,
);
new k8s.apps.v1.Deployment(
  "registry",
  {
    metadata: metadata("airlock"),
    spec: {
      replicas: bad ? 3 : 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: "registry", image: "registry.dmz.example/airlock/registry:0.1.0" }],
          volumes: [
            bad
              ? { name: "data", persistentVolumeClaim: { claimName: "registry-data" } }
              : { name: "data", emptyDir: {} },
          ],
        },
      },
    },
  },
  opts,
);

// no-insecure-upstream and tls-everywhere: an upstream reached over HTTP without verification.
new RegistryEndpoint("customer-registry", {
  connection,
  name: "customer-registry",
  type: "docker-registry",
  url: bad ? "http://registry.customer-a.example" : "https://registry.customer-a.example",
  insecure: bad,
});

// production-projects-gate-pulls: the production project lets vulnerable and unsigned images through.
new Project("production", {
  connection,
  name: "production",
  ...(!bad && { preventVulnerable: "high", requireSignature: true }),
});

// robots-must-expire: a robot without a lifetime.
new RobotAccount("ci", {
  connection,
  name: "ci",
  project: "production",
  permissions: projectAccess("production", ["pull"]),
  duration: bad ? -1 : 30,
});

// webhooks-verified-and-authenticated: scan results posted over plain HTTP, unverified, unauthenticated.
new WebhookPolicy("security-team", {
  connection,
  project: "production",
  name: "security-team",
  targets: [
    bad
      ? { address: "http://security.dmz.example/hooks/registry", skipCertVerify: true }
      : { address: "https://security.dmz.example/hooks/registry", authHeader: pulumi.secret("Bearer policy-check") },
  ],
  eventTypes: ["SCANNING_COMPLETED", "SCANNING_FAILED"],
});
