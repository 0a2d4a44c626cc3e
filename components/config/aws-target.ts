// `airlock:aws`: the AWS target (image, region, zones, replicas, storage, metadata, TLS, load
// balancer), and what it needs beyond each field's own rules.

import { z } from "zod";
import { awsReplicaProblem } from "../aws/aws-registry-args";
import { LOG_LEVELS, cidr, dnsName, pem } from "./schema-parts";

/** The AWS target (components/aws/, README "AWS target"); checked as a whole by AwsRegistry. */
export const awsTargetSchema = z.strictObject({
  /** The server image (registry-server/Dockerfile), best pinned by digest. Required for this target. */
  image: z.string().min(1).optional(),
  imageRepositoryArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:ecr:/, "expected an ECR repository ARN")
    .optional(),
  /** Required for this target. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected a region, e.g. eu-west-1")
    .optional(),
  /** Two or more. Required for this target. */
  availabilityZones: z.array(z.string().min(1)).default([]),
  vpcCidr: cidr.default("10.80.0.0/16"),
  replicas: z.number().int("expected a whole number").min(1).max(50).default(1),
  cpu: z.number().int().default(1024),
  memory: z.number().int().default(2048),
  architecture: z.enum(["X86_64", "ARM64"]).default("X86_64"),
  port: z.number().int().min(1024, "expected a port from 1024 to 65535").max(65535).default(5443),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  storage: z
    .discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("s3"),
        prefix: z.string().optional(),
        noncurrentVersionDays: z.number().int().min(1).default(30),
        abortIncompleteUploadDays: z.number().int().min(1).default(7),
        forceDestroy: z.boolean().default(false),
      }),
      z.strictObject({ type: z.literal("ephemeral"), sizeGiB: z.number().int().min(21).max(200).default(100) }),
    ])
    .prefault({ type: "s3" }),
  metadata: z
    .discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("rds"),
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "expected e.g. db.t4g.small")
          .optional(),
        allocatedStorageGiB: z.number().int().min(20).max(65536).optional(),
        engineVersion: z.string().min(1).optional(),
        multiAz: z.boolean().default(false),
        backupRetentionDays: z.number().int().min(1).max(35).default(7),
        deletionProtection: z.boolean().default(true),
        /** The region's RDS CA bundle: the server then verifies the database's certificate. */
        caCertificate: pem.optional(),
      }),
      z.strictObject({
        type: z.literal("postgres"),
        /** Set with `pulumi config set --secret --path 'airlock:aws.metadata.url' …` (it holds the password). */
        url: z.url({ protocol: /^postgres(ql)?$/, error: "expected a postgres:// URL" }),
        cidrs: z.array(cidr).min(1, "the registry needs the database's CIDRs to reach it"),
        port: z.number().int().min(1).max(65535).default(5432),
      }),
      z.strictObject({ type: z.literal("sqlite") }),
    ])
    .prefault({ type: "rds" }),
  tls: z
    .strictObject({
      /** An ACM certificate: TLS ends at the load balancer. */
      certificateArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:/, "expected an ACM certificate ARN")
        .optional(),
      certificatePem: pem.optional(),
      /** Set with `pulumi config set --secret --path 'airlock:aws.tls.privateKeyPem' …`. */
      privateKeyPem: z.string().includes("PRIVATE KEY-----", { error: "expected a PEM private key" }).optional(),
      caCertificate: pem.optional(),
    })
    .prefault({}),
  /** Required for this target. */
  loadBalancer: z
    .strictObject({
      hostName: dnsName,
      type: z.enum(["application", "network"]).optional(),
      internal: z.boolean().default(true),
      zone: z.enum(["ingress", "production"]).default("ingress"),
      idleTimeoutSeconds: z.number().int().min(60).max(4000).default(900),
      route53ZoneId: z.string().min(1).optional(),
    })
    .optional(),
  zones: z
    .strictObject({
      internet: z.strictObject({ endpoints: z.record(z.string(), z.array(cidr).min(1)).default({}) }).prefault({}),
      proxy: z.strictObject({ egressProxyCidrs: z.array(cidr).default([]) }).prefault({}),
      production: z.strictObject({ cidrs: z.array(cidr).default([]) }).prefault({}),
    })
    .prefault({}),
  kmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:/, "expected a KMS key ARN")
    .optional(),
  interfaceEndpoints: z.boolean().default(true),
  natGateway: z.boolean().optional(),
  logRetentionDays: z.number().int().default(90),
  tags: z.record(z.string(), z.string()).default({}),
  apiUrl: z.url({ protocol: /^https$/, error: "expected an https URL" }).optional(),
});

/** What the AWS target needs beyond each field's own rules; AwsRegistry checks the rest. */
export function refineAwsTarget(aws: z.infer<typeof awsTargetSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["aws", ...path], message });
  if (aws.image === undefined) issue(["image"], "the AWS target needs the server image (registry-server/Dockerfile)");
  if (aws.region === undefined) issue(["region"], "the AWS target needs its region");
  if (new Set(aws.availabilityZones).size < 2) issue(["availabilityZones"], "expected two or more availability zones");
  if (aws.loadBalancer === undefined) issue(["loadBalancer"], "the AWS target needs loadBalancer.hostName");
  const replicas = awsReplicaProblem(aws.replicas, aws.storage.type, aws.metadata.type);
  if (replicas) issue(["replicas"], replicas.replace(/^replicas: /, ""));
  if (aws.loadBalancer?.zone === "production" && !aws.loadBalancer.internal)
    issue(["loadBalancer", "internal"], "a load balancer in the production zone must be internal");
}
