// Airlock's DMZ policy pack: the rules of the DMZ guide checked on every preview and update,
// `pulumi preview --policy-pack policy/`, whatever program declared the resources. Each rule is a
// pure function in rules/ (unit-tested there); this file only hands them the analyzer's resources.
// Every rule is mandatory by default; `--policy-pack-config <file>` can make one advisory and set
// `productionNamespaces`, `productionProjects` and `maxDurationDays`.

import { PolicyPack, type ReportViolation, type ResourceValidationArgs } from "@pulumi/policy";
import { insecureUpstream } from "./rules/no-insecure-upstream";
import {
  DEFAULT_PRODUCTION_NAMESPACES,
  publicProductionLoadBalancer,
  type ProductionZoneConfig,
} from "./rules/no-public-production-load-balancer";
import { typesOf, type PolicySubject, type TypeGroup } from "./rules/policy-subject";
import {
  DEFAULT_PRODUCTION_PROJECTS,
  productionWithoutGate,
  type ProductionProjectConfig,
} from "./rules/production-security-gate";
import { replicasWithoutSharedState } from "./rules/replicas-need-shared-state";
import { DEFAULT_MAX_ROBOT_DAYS, robotWithoutExpiry, type RobotExpiryConfig } from "./rules/robots-expire";
import { withoutTls } from "./rules/tls-everywhere";
import { unsafeWebhookTargets } from "./rules/webhook-targets";

/** A resource policy's check: looks only at the given types, reports each message of the rule. */
function check(
  groups: TypeGroup[],
  rule: (subject: PolicySubject, args: ResourceValidationArgs) => string[],
): (args: ResourceValidationArgs, reportViolation: ReportViolation) => void {
  const types = new Set(typesOf(...groups));
  return (args, reportViolation) => {
    if (!types.has(args.type)) return;
    for (const message of rule({ type: args.type, name: args.name, props: args.props }, args)) {
      reportViolation(message);
    }
  };
}

new PolicyPack("airlock-dmz", {
  enforcementLevel: "mandatory",
  policies: [
    {
      name: "no-public-load-balancer-in-production",
      description: "A load balancer in the production zone is internal: the zone is reached from the proxy zone only.",
      configSchema: {
        properties: {
          productionNamespaces: {
            type: "array",
            items: { type: "string" },
            default: DEFAULT_PRODUCTION_NAMESPACES,
          },
        },
      },
      validateResource: check(["awsLoadBalancer", "kubernetesService"], (subject, args) =>
        publicProductionLoadBalancer(subject, args.getConfig<ProductionZoneConfig>()),
      ),
    },
    {
      name: "tls-everywhere",
      description:
        "Listeners, target groups, Ingresses and upstream endpoints carry TLS (HTTP only to redirect to HTTPS).",
      validateResource: check(["awsListener", "awsTargetGroup", "kubernetesIngress", "registryEndpoint"], withoutTls),
    },
    {
      name: "no-insecure-upstream",
      description: "No upstream registry endpoint skips the verification of its certificate (`insecure`).",
      validateResource: check(["registryEndpoint"], insecureUpstream),
    },
    {
      name: "robots-must-expire",
      description: "Robot accounts expire (a duration in days, not -1) within the allowed lifetime.",
      configSchema: {
        properties: { maxDurationDays: { type: "integer", minimum: 1, default: DEFAULT_MAX_ROBOT_DAYS } },
      },
      validateResource: check(["robotAccount"], (subject, args) =>
        robotWithoutExpiry(subject, args.getConfig<RobotExpiryConfig>()),
      ),
    },
    {
      name: "production-projects-gate-pulls",
      description:
        "A production project refuses vulnerable pulls (preventVulnerable) and unsigned ones (requireSignature).",
      configSchema: {
        properties: {
          productionProjects: { type: "array", items: { type: "string" }, default: DEFAULT_PRODUCTION_PROJECTS },
        },
      },
      validateResource: check(["registryProject"], (subject, args) =>
        productionWithoutGate(subject, args.getConfig<ProductionProjectConfig>()),
      ),
    },
    {
      name: "webhooks-verified-and-authenticated",
      description:
        "A webhook's http targets are reached over HTTPS with their certificate verified, and sent an auth header.",
      validateResource: check(["webhookPolicy"], unsafeWebhookTargets),
    },
    {
      name: "replicas-need-s3-and-postgres",
      description: "More than one registry replica only with blobs in S3 and metadata in PostgreSQL.",
      validateStack: (args, reportViolation) => {
        for (const { resource, message } of replicasWithoutSharedState(args.resources)) {
          reportViolation(message, resource.urn);
        }
      },
    },
  ],
});
