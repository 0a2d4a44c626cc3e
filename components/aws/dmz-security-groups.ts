// The four security groups of the registry on AWS (load balancer, tasks, VPC endpoints, database)
// and their rules, one rule resource per derived path and range (security-rules.ts). The groups
// carry no inline rule, so AWS's default "allow all out" is removed (the provider does so for a
// group created without egress) and every path the registry has is a rule of its own, named
// after its purpose: a review of the preview reads what opens.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { isIpv6Cidr } from "./aws-registry-args";
import { AIRLOCK_TAGS, type AwsZone } from "./aws-tags";
import { SECURITY_GROUP_NAMES, type SecurityGroupName, type SecurityRule } from "./security-rules";

export interface DmzSecurityGroupsArgs {
  vpcId: pulumi.Input<string>;
  /** The rules, from deriveSecurityRules. */
  rules: SecurityRule[];
  /** The S3 gateway endpoint's prefix list, for the rule towards S3. */
  s3PrefixListId: pulumi.Input<string>;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

/** The zone each group sits in: what its `airlock:zone` tag says. */
const GROUP_ZONES: Record<SecurityGroupName, AwsZone> = {
  loadBalancer: "ingress",
  registry: "proxy",
  endpoints: "proxy",
  database: "production",
};

const DESCRIPTIONS: Record<SecurityGroupName, string> = {
  loadBalancer: "Airlock registry load balancer: HTTPS from the production zone",
  registry: "Airlock registry tasks: from the load balancer, out to the declared upstreams only",
  endpoints: "Airlock VPC endpoints: HTTPS from the registry tasks",
  database: "Airlock metadata database: PostgreSQL from the registry tasks",
};

export class DmzSecurityGroups extends pulumi.ComponentResource {
  /** Group ids by name: the groups some rule uses (no database group without RDS). */
  public readonly groupIds: Partial<Record<SecurityGroupName, pulumi.Output<string>>>;
  /** The rules, as derived. */
  public readonly rules: SecurityRule[];

  constructor(name: string, args: DmzSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:DmzSecurityGroups", name, {}, opts);
    const child = { parent: this };
    const used = new Set<SecurityGroupName>(
      args.rules.flatMap((rule) => ["group" in rule.peer ? [rule.peer.group] : [], [rule.group]].flat()),
    );
    const groups = Object.fromEntries(
      SECURITY_GROUP_NAMES.filter((group) => used.has(group)).map((group) => [
        group,
        new aws.ec2.SecurityGroup(
          `${name}-${group}`,
          {
            vpcId: args.vpcId,
            description: DESCRIPTIONS[group],
            tags: { ...args.tags, Name: `${name}-${group}`, [AIRLOCK_TAGS.zone]: GROUP_ZONES[group] },
          },
          child,
        ),
      ]),
    ) as Partial<Record<SecurityGroupName, aws.ec2.SecurityGroup>>;
    const groupOf = (group: SecurityGroupName): aws.ec2.SecurityGroup => {
      const found = groups[group];
      if (!found) throw new Error(`security group ${group} is not declared`);
      return found;
    };

    for (const rule of args.rules) {
      const common = {
        securityGroupId: groupOf(rule.group).id,
        ipProtocol: "tcp",
        fromPort: rule.port,
        toPort: rule.port,
        description: rule.purpose.slice(0, 255),
        tags: { ...args.tags, Name: rule.name, [AIRLOCK_TAGS.zone]: GROUP_ZONES[rule.group] },
      };
      type Peer =
        | { cidrIpv4: string }
        | { cidrIpv6: string }
        | { referencedSecurityGroupId: pulumi.Input<string> }
        | { prefixListId: pulumi.Input<string> };
      const peers: Peer[] =
        "cidrs" in rule.peer
          ? rule.peer.cidrs.map((cidr): Peer => (isIpv6Cidr(cidr) ? { cidrIpv6: cidr } : { cidrIpv4: cidr }))
          : "group" in rule.peer
            ? [{ referencedSecurityGroupId: groupOf(rule.peer.group).id }]
            : [{ prefixListId: args.s3PrefixListId }];
      peers.forEach((peer, index) => {
        const resourceName = peers.length === 1 ? `${name}-${rule.name}` : `${name}-${rule.name}-${index}`;
        if (rule.direction === "ingress") {
          new aws.vpc.SecurityGroupIngressRule(resourceName, { ...common, ...peer }, child);
        } else {
          new aws.vpc.SecurityGroupEgressRule(resourceName, { ...common, ...peer }, child);
        }
      });
    }

    this.rules = args.rules;
    this.groupIds = Object.fromEntries(Object.entries(groups).map(([group, resource]) => [group, resource.id]));
    this.registerOutputs({ groupIds: this.groupIds, rules: this.rules.map((rule) => `${rule.name}: ${rule.purpose}`) });
  }
}
