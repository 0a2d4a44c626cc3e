// The destinations a stack's registry reaches out to, for the firewall rules of the targets that
// have them (Kubernetes NetworkPolicies, AWS security groups).

import type { UpstreamEndpoint } from "./network/derive-rules";
import { normaliseWebhookAddress } from "./registry/webhook-policy";
import type { StackConfig } from "./stack-config";

/**
 * Where the registry reaches out: its registry endpoints (pulled from, replicated to) and its
 * projects' webhook targets (posted to through the same egress settings), each needing a path
 * out of the registry's zone. A webhook target is named `<project>-<webhook>`, with `-<n>` for
 * its second target on (the key of its CIDRs under `zones.internet.endpoints` when it is
 * reached directly).
 */
export function outboundDestinations(config: StackConfig): UpstreamEndpoint[] {
  const registries = config.registries.map((registry) => ({ name: registry.name, url: registry.url }));
  const webhooks = config.projects.flatMap((project) =>
    (project.webhooks ?? []).flatMap((webhook) =>
      webhook.targets.map((target, index) => ({
        name: `${project.name}-${webhook.name}${index === 0 ? "" : `-${index + 1}`}`,
        // Checked by the schema; an address it would refuse is left to that check.
        url: normaliseWebhookAddress(target.address) ?? target.address,
        kind: "webhook" as const,
      })),
    ),
  );
  return [...registries, ...webhooks];
}
