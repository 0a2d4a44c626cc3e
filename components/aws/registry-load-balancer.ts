// How clients reach the registry's tasks on AWS: one load balancer, one listener on 443, one
// target group of the tasks' addresses, TLS on both hops.
//   application  HTTPS with the ACM certificate, then HTTPS to the task (its own certificate)
//   network      TLS with the ACM certificate, then TLS to the task; or, without one, TCP passed
//                through to the task, which terminates TLS itself (tagged airlock:tls=passthrough
//                so the policy pack knows the TCP listener carries TLS)
// Internal by default, in the ingress zone's subnets unless placed in the production zone (there
// it must stay internal). Health checks ask /api/v2.0/health over HTTPS. Long idle timeouts: a
// layer of several gigabytes is one request.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AIRLOCK_TAGS } from "./aws-tags";

export interface RegistryLoadBalancerArgs {
  type: "application" | "network";
  internal: boolean;
  zone: "ingress" | "production";
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /** The server's port in the tasks. */
  containerPort: number;
  idleTimeoutSeconds: number;
  /** TLS ends at the load balancer with this ACM certificate; passed through to the task without one. */
  certificateArn?: pulumi.Input<string>;
  /** The clients' DNS name, and the Route 53 zone to add it to (an alias). */
  hostName: string;
  route53ZoneId?: pulumi.Input<string>;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

/** TLS 1.3 and 1.2 only, forward secrecy only. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** The protocols of the listener and the target group. */
export function loadBalancerProtocols(
  type: "application" | "network",
  terminatesTls: boolean,
): { listener: "HTTPS" | "TLS" | "TCP"; target: "HTTPS" | "TLS" | "TCP" } {
  if (type === "application") return { listener: "HTTPS", target: "HTTPS" };
  return terminatesTls ? { listener: "TLS", target: "TLS" } : { listener: "TCP", target: "TCP" };
}

export class RegistryLoadBalancer extends pulumi.ComponentResource {
  public readonly dnsName: pulumi.Output<string>;
  public readonly targetGroupArn: pulumi.Output<string>;
  /** The listener: the service waits for it, so targets register behind a working port. */
  public readonly listener: aws.lb.Listener;

  constructor(name: string, args: RegistryLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:RegistryLoadBalancer", name, {}, opts);
    const child = { parent: this };
    const protocols = loadBalancerProtocols(args.type, args.certificateArn !== undefined);
    const passthrough: Record<string, string> =
      protocols.listener === "TCP" ? { [AIRLOCK_TAGS.tls]: "passthrough" } : {};
    const tags: Record<string, string> = { ...args.tags, [AIRLOCK_TAGS.zone]: args.zone };

    const balancer = new aws.lb.LoadBalancer(
      `${name}-lb`,
      {
        loadBalancerType: args.type,
        internal: args.internal,
        subnets: args.subnetIds,
        securityGroups: [args.securityGroupId],
        ...(args.type === "application" && {
          idleTimeout: args.idleTimeoutSeconds,
          // Requests with malformed headers are dropped rather than forwarded.
          dropInvalidHeaderFields: true,
        }),
        tags: { ...tags, Name: `${name}-lb` },
      },
      child,
    );
    const targets = new aws.lb.TargetGroup(
      `${name}-tasks`,
      {
        vpcId: args.vpcId,
        targetType: "ip",
        port: args.containerPort,
        protocol: protocols.target,
        deregistrationDelay: 45,
        healthCheck: {
          protocol: "HTTPS",
          path: "/api/v2.0/health",
          port: "traffic-port",
          matcher: "200",
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        tags: { ...tags, ...passthrough, Name: `${name}-tasks` },
      },
      child,
    );
    this.listener = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: balancer.arn,
        port: 443,
        protocol: protocols.listener,
        ...(protocols.listener !== "TCP" && { sslPolicy: SSL_POLICY, certificateArn: args.certificateArn }),
        ...(protocols.listener !== "HTTPS" && { tcpIdleTimeoutSeconds: Math.min(args.idleTimeoutSeconds, 6000) }),
        defaultActions: [{ type: "forward", targetGroupArn: targets.arn }],
        tags: { ...tags, ...passthrough, Name: `${name}-https` },
      },
      child,
    );
    if (args.route53ZoneId !== undefined) {
      new aws.route53.Record(
        `${name}-dns`,
        {
          zoneId: args.route53ZoneId,
          name: args.hostName,
          type: "A",
          aliases: [{ name: balancer.dnsName, zoneId: balancer.zoneId, evaluateTargetHealth: true }],
        },
        child,
      );
    }
    this.dnsName = balancer.dnsName;
    this.targetGroupArn = targets.arn;
    this.registerOutputs({ dnsName: this.dnsName, targetGroupArn: this.targetGroupArn });
  }
}
