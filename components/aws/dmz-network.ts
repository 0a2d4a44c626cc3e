// The DMZ guide's zones as a VPC: a subnet per zone in each availability zone (subnet-plan.ts),
// a route table per zone, and only the ways out the deployment needs. The ingress zone gets an
// internet gateway only for an internet-facing load balancer or a NAT gateway; the proxy zone
// (the registry's tasks) reaches the internet only through that NAT gateway, and only when an
// upstream is reached directly; the production zone (the database, the clusters that pull) has
// no route out at all. S3 is reached through a gateway endpoint, so blobs never cross the NAT.
// Routes to networks outside the VPC (the corporate egress proxy, clusters on premises, through
// a transit gateway or a VPN) are the network team's: the route tables are outputs.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AIRLOCK_TAGS, AWS_ZONES, type AwsZone } from "./aws-tags";
import { planSubnets } from "./subnet-plan";

export interface DmzNetworkArgs {
  /** The VPC's IPv4 range. */
  vpcCidr: string;
  /** Availability zones, two or more. */
  availabilityZones: string[];
  /** The region, for the S3 gateway endpoint's service name. */
  region: string;
  /** An internet gateway in the ingress zone (an internet-facing load balancer, or NAT). */
  internetGateway: boolean;
  /** A NAT gateway for the proxy zone (upstreams reached directly); needs internetGateway. */
  natGateway: boolean;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

export class DmzNetwork extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  /** Subnet ids by zone, one per availability zone, in the order given. */
  public readonly subnetIds: Record<AwsZone, pulumi.Output<string>[]>;
  /** Subnet ranges by zone, known when the program runs. */
  public readonly subnetCidrs: Record<AwsZone, string[]>;
  /** Route table ids by zone, for routes to networks outside the VPC. */
  public readonly routeTableIds: Record<AwsZone, pulumi.Output<string>>;
  /** The S3 gateway endpoint's prefix list: the security group rule towards S3 names it. */
  public readonly s3PrefixListId: pulumi.Output<string>;

  constructor(name: string, args: DmzNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:DmzNetwork", name, {}, opts);
    const child = { parent: this };
    const tags = (zone: AwsZone | undefined, suffix: string) => ({
      ...args.tags,
      Name: `${name}-${suffix}`,
      ...(zone && { [AIRLOCK_TAGS.zone]: zone }),
    });

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      // DNS support and host names: the interface endpoints' private DNS names need both.
      { cidrBlock: args.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: tags(undefined, "vpc") },
      child,
    );
    const plan = planSubnets(args.vpcCidr, args.availabilityZones);
    const subnets = plan.map(
      (subnet) =>
        new aws.ec2.Subnet(
          `${name}-${subnet.zone}-${subnet.availabilityZone}`,
          {
            vpcId: vpc.id,
            cidrBlock: subnet.cidr,
            availabilityZone: subnet.availabilityZone,
            // Nothing gets a public address by itself, not even in the ingress zone.
            mapPublicIpOnLaunch: false,
            tags: tags(subnet.zone, `${subnet.zone}-${subnet.availabilityZone}`),
          },
          child,
        ),
    );
    const byZone = <T>(pick: (subnet: aws.ec2.Subnet, index: number) => T) =>
      Object.fromEntries(
        AWS_ZONES.map((zone) => [
          zone,
          subnets.flatMap((subnet, i) => (plan[i]?.zone === zone ? [pick(subnet, i)] : [])),
        ]),
      ) as Record<AwsZone, T[]>;
    this.subnetIds = byZone((subnet) => subnet.id);
    this.subnetCidrs = byZone((_subnet, i) => plan[i]?.cidr ?? "");

    const gateway = args.internetGateway
      ? new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("ingress", "igw") }, child)
      : undefined;
    const ingressSubnet = this.subnetIds.ingress[0];
    let nat: aws.ec2.NatGateway | undefined;
    if (args.natGateway && gateway && ingressSubnet) {
      const address = new aws.ec2.Eip(`${name}-nat`, { domain: "vpc", tags: tags("ingress", "nat") }, child);
      nat = new aws.ec2.NatGateway(
        `${name}-nat`,
        { allocationId: address.id, subnetId: ingressSubnet, tags: tags("ingress", "nat") },
        { ...child, dependsOn: [gateway] },
      );
    }

    const routeTables = Object.fromEntries(
      AWS_ZONES.map((zone) => {
        const routes =
          zone === "ingress" && gateway
            ? [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }]
            : zone === "proxy" && nat
              ? [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }]
              : [];
        const table = new aws.ec2.RouteTable(
          `${name}-${zone}`,
          { vpcId: vpc.id, routes, tags: tags(zone, zone) },
          child,
        );
        this.subnetIds[zone].forEach(
          (subnetId, i) =>
            new aws.ec2.RouteTableAssociation(`${name}-${zone}-${i}`, { subnetId, routeTableId: table.id }, child),
        );
        return [zone, table];
      }),
    ) as Record<AwsZone, aws.ec2.RouteTable>;
    this.routeTableIds = {
      ingress: routeTables.ingress.id,
      proxy: routeTables.proxy.id,
      production: routeTables.production.id,
    };

    const s3 = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${args.region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: [routeTables.proxy.id],
        tags: tags("proxy", "s3"),
      },
      child,
    );
    this.vpcId = vpc.id;
    this.s3PrefixListId = s3.prefixListId;
    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      routeTableIds: this.routeTableIds,
      s3PrefixListId: this.s3PrefixListId,
    });
  }
}
