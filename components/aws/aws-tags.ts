// The tags the AWS target puts on its resources, beside the user's own. They name the DMZ zone a
// subnet or load balancer belongs to and what a service stores where, so that reviews of a
// preview, the AWS console and the policy pack (policy/) can tell without reading the program.
// No imports: the policy pack loads this file in the analyzer.

/** Tag keys, all under `airlock:`. */
export const AIRLOCK_TAGS = {
  /** The DMZ zone of a subnet, security group or load balancer: one of AWS_ZONES. */
  zone: "airlock:zone",
  /** What part of the registry a resource is: `registry` for the ECS service and its task. */
  component: "airlock:component",
  /** Where the service keeps blobs: `s3` or `ephemeral`. */
  storage: "airlock:storage",
  /** Where the service keeps metadata: `postgres` or `sqlite`. */
  metadata: "airlock:metadata",
  /** `passthrough` on a TCP listener or target group that carries TLS ending in the task. */
  tls: "airlock:tls",
} as const;

/**
 * The DMZ guide's zones as subnets: `ingress` (the public side, where an internet-facing load
 * balancer and the NAT gateway would sit), `proxy` (the DMZ proper: the registry's tasks and the
 * VPC endpoints) and `production` (the private side: the clusters that pull, and the database).
 */
export const AWS_ZONES = ["ingress", "proxy", "production"] as const;
export type AwsZone = (typeof AWS_ZONES)[number];
