// The registry on AWS: the DMZ guide's zones as a VPC (dmz-network.ts), the security groups of
// its rules (dmz-security-groups.ts), blobs in an S3 bucket (blob-bucket.ts), metadata in RDS
// PostgreSQL or an existing database (registry-database.ts), the secrets in Secrets Manager
// (task-secrets.ts), and the server as an ECS Fargate service logging to CloudWatch
// (registry-service.ts) behind a load balancer (registry-load-balancer.ts). Everything is
// checked before anything is declared (aws-registry-args.ts): more than one task needs S3
// storage and PostgreSQL metadata. Its outputs match the other targets' (URL, CA, admin
// credentials, the connection the registry resources use), so RegistryServer can hand it the
// `aws` target.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "../registry/api-client";
import { GeneratedPassword } from "../secrets/generated-password";
import { ServerKeys } from "../secrets/server-keys";
import { loadBalancerType, validateAwsRegistryArgs, type AwsRegistryArgs } from "./aws-registry-args";
import { AIRLOCK_TAGS } from "./aws-tags";
import { DmzNetwork } from "./dmz-network";
import { DmzSecurityGroups } from "./dmz-security-groups";
import { BlobBucket } from "./blob-bucket";
import { RegistryDatabase } from "./registry-database";
import { RegistryLoadBalancer } from "./registry-load-balancer";
import { deriveSecurityRules, securityRuleInputs, type SecurityRule } from "./security-rules";
import { RegistryService } from "./registry-service";
import { TaskSecrets } from "./task-secrets";
import { declareTaskTls } from "./task-tls";

export type { AwsRegistryArgs } from "./aws-registry-args";

/** The services the tasks reach through interface endpoints, so they need no way out for them. */
export const INTERFACE_ENDPOINT_SERVICES = ["secretsmanager", "logs", "ecr.api", "ecr.dkr"] as const;

/**
 * Where the server may believe X-Forwarded-For: an application load balancer connects from its
 * subnets and appends the client's address (only its security group reaches the tasks, so
 * nothing else in those subnets can forge it). A network load balancer adds no header and
 * passes a client's own through: nothing is trusted, and the server throttles by account and by
 * the balancer's address.
 */
export function trustedProxies(type: "application" | "network", loadBalancerSubnets: string[]): string[] {
  return type === "application" ? loadBalancerSubnets : [];
}

export class AwsRegistry extends pulumi.ComponentResource {
  /** Base URL clients use: https://<loadBalancer.hostName>. */
  public readonly url: pulumi.Output<string>;
  /** The CA clients trust (PEM), when known. */
  public readonly caCertPem: pulumi.Output<string | undefined>;
  public readonly adminUsername: pulumi.Output<string>;
  /** A secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** What the registry resources need to manage this registry, once the service is steady; a secret. */
  public readonly connection: pulumi.Output<RegistryConnection>;
  /** The load balancer's own DNS name, for a record of hostName where Route 53 does not hold it. */
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  public readonly vpcId: pulumi.Output<string>;
  /** The blobs' bucket, when storage is S3. */
  public readonly bucketName?: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;
  /** The security group rules, as derived from the zones and endpoints. */
  public readonly securityRules: SecurityRule[];
  public readonly network: DmzNetwork;

  constructor(name: string, args: AwsRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything is checked before anything is declared: a refused shape creates nothing.
    validateAwsRegistryArgs(args);
    super("airlock:aws:AwsRegistry", name, {}, opts);
    const child = { parent: this };
    const storage = args.storage ?? { type: "s3" };
    const metadata = args.metadata ?? { type: "rds" };
    const replicas = args.replicas ?? 1;
    const port = args.port ?? 5443;
    const lb = args.loadBalancer;
    const zone = lb.zone ?? "ingress";
    const internal = lb.internal ?? true;
    const tags = { ...args.tags };
    const adminUsername = args.adminUsername ?? "admin";

    // A NAT gateway only when some upstream is reached directly (not through the corporate proxy).
    const planned = deriveSecurityRules(securityRuleInputs(args, ["10.0.0.0/24"]));
    const natGateway = args.natGateway ?? planned.some((rule) => rule.zone === "internet");
    this.network = new DmzNetwork(
      name,
      {
        vpcCidr: args.vpcCidr ?? "10.80.0.0/16",
        availabilityZones: args.availabilityZones,
        region: args.region,
        internetGateway: natGateway || !internal,
        natGateway,
        tags,
      },
      child,
    );
    const network = this.network;
    this.securityRules = deriveSecurityRules(securityRuleInputs(args, network.subnetCidrs.production));
    const groups = new DmzSecurityGroups(
      name,
      { vpcId: network.vpcId, rules: this.securityRules, s3PrefixListId: network.s3PrefixListId, tags },
      child,
    );
    const group = (key: keyof DmzSecurityGroups["groupIds"]): pulumi.Output<string> => {
      const id = groups.groupIds[key];
      if (id === undefined) throw new Error(`AwsRegistry: no ${key} security group was derived`);
      return id;
    };
    if (args.interfaceEndpoints ?? true) {
      for (const service of INTERFACE_ENDPOINT_SERVICES) {
        new aws.ec2.VpcEndpoint(
          `${name}-${service.replace(".", "-")}`,
          {
            vpcId: network.vpcId,
            serviceName: `com.amazonaws.${args.region}.${service}`,
            vpcEndpointType: "Interface",
            subnetIds: network.subnetIds.proxy,
            securityGroupIds: [group("endpoints")],
            privateDnsEnabled: true,
            tags: { ...tags, Name: `${name}-${service}`, [AIRLOCK_TAGS.zone]: "proxy" },
          },
          child,
        );
      }
    }

    const bucket =
      storage.type === "s3"
        ? new BlobBucket(
            name,
            {
              ...(storage.noncurrentVersionDays !== undefined && {
                noncurrentVersionDays: storage.noncurrentVersionDays,
              }),
              ...(storage.abortIncompleteUploadDays !== undefined && {
                abortIncompleteUploadDays: storage.abortIncompleteUploadDays,
              }),
              ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
              ...(storage.forceDestroy !== undefined && { forceDestroy: storage.forceDestroy }),
              tags,
            },
            child,
          )
        : undefined;
    const adminPassword = pulumi.secret(
      args.adminPassword ?? new GeneratedPassword(`${name}-admin`, { length: 32 }, child).value,
    );
    const databaseUrl =
      metadata.type === "rds"
        ? new RegistryDatabase(
            name,
            {
              settings: metadata,
              subnetIds: network.subnetIds.production,
              securityGroupId: group("database"),
              ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
              tags,
            },
            child,
          ).url
        : metadata.type === "postgres"
          ? pulumi.secret(metadata.url)
          : undefined;
    const tls = declareTaskTls(name, args.tls ?? {}, lb.hostName, this);
    const keys = new ServerKeys(`${name}-keys`, {}, child);
    const secrets = new TaskSecrets(
      name,
      {
        adminPassword,
        ...(databaseUrl !== undefined && { databaseUrl }),
        tlsKeyPem: tls.keyPem,
        serverKeys: { tokenSigningKeyPem: keys.tokenSigningKeyPem, secretBoxKey: keys.secretBoxKey },
        ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
        tags,
      },
      child,
    );
    const balancer = new RegistryLoadBalancer(
      name,
      {
        type: loadBalancerType(args),
        internal,
        zone,
        vpcId: network.vpcId,
        subnetIds: network.subnetIds[zone],
        securityGroupId: group("loadBalancer"),
        containerPort: port,
        idleTimeoutSeconds: lb.idleTimeoutSeconds ?? 900,
        ...(args.tls?.certificateArn !== undefined && { certificateArn: args.tls.certificateArn }),
        hostName: lb.hostName,
        ...(lb.route53ZoneId !== undefined && { route53ZoneId: lb.route53ZoneId }),
        tags,
      },
      child,
    );
    const service = new RegistryService(
      name,
      {
        image: args.image,
        ...(args.imageRepositoryArn !== undefined && { imageRepositoryArn: args.imageRepositoryArn }),
        region: args.region,
        port,
        replicas,
        cpu: args.cpu ?? 1024,
        memory: args.memory ?? 2048,
        architecture: args.architecture ?? "X86_64",
        ...(bucket && {
          bucket: {
            name: bucket.bucketName,
            arn: bucket.bucketArn,
            ...(storage.type === "s3" && storage.prefix !== undefined && { prefix: storage.prefix }),
          },
        }),
        ...(storage.type === "ephemeral" && { ephemeralStorageGiB: storage.sizeGiB ?? 100 }),
        metadata: metadata.type === "sqlite" ? "sqlite" : "postgres",
        ...(metadata.type === "rds" &&
          metadata.caCertificate !== undefined && { databaseCaPem: metadata.caCertificate }),
        adminUsername,
        logLevel: args.logLevel ?? "info",
        upstream: args.upstream ?? {},
        mirror: args.mirror ?? {},
        trustedProxies: trustedProxies(loadBalancerType(args), network.subnetCidrs[zone]),
        tlsCertificatePem: tls.certPem,
        secretArns: secrets.arns,
        secretReferences: secrets.references,
        subnetIds: network.subnetIds.proxy,
        securityGroupId: group("registry"),
        targetGroupArn: balancer.targetGroupArn,
        listener: balancer.listener,
        logRetentionDays: args.logRetentionDays ?? 90,
        ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
        tags,
      },
      child,
    );

    this.url = pulumi.output(`https://${lb.hostName}`);
    this.caCertPem = tls.caCertPem;
    this.adminUsername = pulumi.output(adminUsername);
    this.adminPassword = adminPassword;
    this.loadBalancerDnsName = balancer.dnsName;
    this.vpcId = network.vpcId;
    if (bucket) this.bucketName = bucket.bucketName;
    this.logGroupName = service.logGroupName;
    const apiUrl = args.apiUrl ?? `https://${lb.hostName}`;
    this.connection = pulumi.secret(
      pulumi.all([adminPassword, this.caCertPem, service.serviceId]).apply(([password, caPem]) => ({
        url: apiUrl,
        username: adminUsername,
        password,
        ...(caPem !== undefined && { caPem }),
      })),
    );
    this.registerOutputs({
      url: this.url,
      caCertPem: this.caCertPem,
      adminUsername: this.adminUsername,
      adminPassword: this.adminPassword,
      connection: this.connection,
      loadBalancerDnsName: this.loadBalancerDnsName,
      vpcId: this.vpcId,
      bucketName: this.bucketName,
      logGroupName: this.logGroupName,
      securityRules: this.securityRules.map((rule) => `${rule.name}: ${rule.purpose}`),
    });
  }
}
