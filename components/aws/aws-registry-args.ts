// The arguments of AwsRegistry and their check as a whole: replicas against storage and metadata,
// the zones, TLS and load balancer combination, task sizes, and the security group rules the
// zones and upstream endpoints give. Exported pure functions, run before the component declares
// anything, so that a refused combination creates nothing at all. The settings' types are in
// aws-settings.ts.

import { isIP } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import type { MirrorSettings, UpstreamSettings } from "../server-config/server-settings";
import type { UpstreamEndpoint } from "../network/derive-rules";
import { isCidr } from "../network/network-zones";
import type { AwsLoadBalancerSettings, AwsMetadata, AwsStorage, AwsTlsSettings, AwsZonesArgs } from "./aws-settings";
import { deriveSecurityRules, securityRuleInputs } from "./security-rules";
import { planSubnets } from "./subnet-plan";

export interface AwsRegistryArgs {
  /** The server image built from registry-server/Dockerfile, best pinned by digest. */
  image: pulumi.Input<string>;
  /** The ECR repository of the image: the execution role may pull from it alone. Leave out for another registry. */
  imageRepositoryArn?: pulumi.Input<string>;
  /** The AWS region (the log driver and the S3 client need it). */
  region: string;
  /** Availability zones to spread over, at least two (load balancers need two). */
  availabilityZones: string[];
  /** IPv4 range of the VPC, split into a subnet per zone and availability zone. Default `10.80.0.0/16`. */
  vpcCidr?: string;
  /** Number of tasks. Default 1; more need S3 storage and PostgreSQL (RDS or existing) metadata. */
  replicas?: number;
  /**
   * CPU units of a task (1024 = one vCPU). Default 1024. It also sets the server's worker
   * processes: one per whole vCPU, at least one (256 → 1, 1024 → 1, 4096 → 4).
   */
  cpu?: number;
  /** Memory of a task in MiB. Default 2048. */
  memory?: number;
  /** The image's architecture. Default `X86_64`. */
  architecture?: "X86_64" | "ARM64";
  /** The server's port in the task. Default 5443. */
  port?: number;
  /** Where blobs live. Default an S3 bucket. */
  storage?: AwsStorage;
  /** Where metadata lives. Default an RDS PostgreSQL instance. */
  metadata?: AwsMetadata;
  tls?: AwsTlsSettings;
  loadBalancer: AwsLoadBalancerSettings;
  /** The zones, from which the security group rules are derived. */
  zones?: AwsZonesArgs;
  /** The upstream registry endpoints the registry pulls from (`airlock:registries`). */
  upstreams?: UpstreamEndpoint[];
  /** Egress towards upstream registries: the corporate proxy, timeouts. */
  upstream?: UpstreamSettings;
  /** Transparent mirror routing of pulls without a project prefix. */
  mirror?: MirrorSettings;
  /** Admin user name. Default `admin`. */
  adminUsername?: string;
  /** Admin password; generated (kept secret in the state and in Secrets Manager) when not given. */
  adminPassword?: pulumi.Input<string>;
  /** Server log level. Default `info`. */
  logLevel?: string;
  /** Days CloudWatch keeps the logs. Default 90. */
  logRetentionDays?: number;
  /** A KMS key for the bucket, the secrets, the logs and the database. Default: AWS-managed keys. */
  kmsKeyArn?: pulumi.Input<string>;
  /** VPC endpoints for Secrets Manager, CloudWatch Logs and ECR, so tasks need no way out for them. Default true. */
  interfaceEndpoints?: boolean;
  /** A NAT gateway for upstreams reached directly. Default: when one is. */
  natGateway?: boolean;
  /** Tags for every resource, besides the `airlock:` ones. */
  tags?: Record<string, string>;
  /** The URL Pulumi reaches the registry's API with. Default https://<hostName>. */
  apiUrl?: string;
}

export class AwsRegistryError extends Error {
  override name = "AwsRegistryError";
}

export const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;
/** Fargate's memory sizes per CPU size: from, to, in steps of (MiB). */
const FARGATE_MEMORY: Record<number, [number, number, number]> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** Whether Fargate offers `memory` MiB with `cpu` CPU units (256 CPU units also take 512, 1024, 2048). */
export function fargateMemoryFits(cpu: number, memory: number): boolean {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return false;
  const [from, to, step] = range;
  if (cpu === 256) return [512, 1024, 2048].includes(memory);
  return Number.isInteger(memory) && memory >= from && memory <= to && (memory - from) % step === 0;
}

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 3653];
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

/**
 * Why `replicas` tasks cannot run on these backends, or undefined when they can. Tasks share
 * nothing but their backends: their disks are their own, so blobs must be in S3 and metadata in
 * PostgreSQL (RDS or an existing database).
 */
export function awsReplicaProblem(
  replicas: number,
  storage: AwsStorage["type"],
  metadata: AwsMetadata["type"],
): string | undefined {
  if (!Number.isInteger(replicas) || replicas < 1) return `replicas: expected a whole number from 1, got ${replicas}`;
  if (replicas === 1 || (storage === "s3" && metadata !== "sqlite")) return undefined;
  return (
    `replicas: ${replicas} tasks need shared backends, storage "s3" and metadata "rds" or "postgres" ` +
    `(got storage "${storage}" and metadata "${metadata}"): a task's disk belongs to that task alone`
  );
}

/** The load balancer type: given, or application when TLS ends there with ACM, network otherwise. */
export function loadBalancerType(args: Pick<AwsRegistryArgs, "loadBalancer" | "tls">): "application" | "network" {
  return args.loadBalancer.type ?? (args.tls?.certificateArn !== undefined ? "application" : "network");
}

/** Checks everything known when the program runs; throws an AwsRegistryError listing every problem. */
export function validateAwsRegistryArgs(args: AwsRegistryArgs): void {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => void (ok || problems.push(problem));
  const storage = args.storage ?? { type: "s3" };
  const metadata = args.metadata ?? { type: "rds" };
  const replicaProblem = awsReplicaProblem(args.replicas ?? 1, storage.type, metadata.type);
  if (replicaProblem) problems.push(replicaProblem);

  const zones = new Set(args.availabilityZones);
  check(
    zones.size >= 2 && zones.size === args.availabilityZones.length,
    "availabilityZones: expected two or more, each once",
  );
  try {
    planSubnets(args.vpcCidr ?? "10.80.0.0/16", args.availabilityZones);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const cpu = args.cpu ?? 1024;
  const memory = args.memory ?? 2048;
  check((FARGATE_CPU as readonly number[]).includes(cpu), `cpu: expected one of ${FARGATE_CPU.join(", ")}, got ${cpu}`);
  check(fargateMemoryFits(cpu, memory), `memory: ${memory} MiB is not a Fargate size for ${cpu} CPU units`);
  const port = args.port ?? 5443;
  check(Number.isInteger(port) && port >= 1024 && port <= 65535, `port: expected 1024 to 65535, got ${port}`);
  if (storage.type === "ephemeral") {
    const size = storage.sizeGiB ?? 100;
    check(Number.isInteger(size) && size >= 21 && size <= 200, `storage.sizeGiB: expected 21 to 200, got ${size}`);
  } else {
    check(
      storage.prefix === undefined || /^([A-Za-z0-9._-]+)(\/[A-Za-z0-9._-]+)*$/.test(storage.prefix),
      'storage.prefix: expected "/"-separated segments of letters, digits, ".", "_" and "-"',
    );
    for (const key of ["noncurrentVersionDays", "abortIncompleteUploadDays"] as const) {
      const days = storage[key];
      check(
        days === undefined || (Number.isInteger(days) && days >= 1),
        `storage.${key}: expected a number of days from 1`,
      );
    }
  }
  if (metadata.type === "postgres") {
    check(metadata.cidrs.length > 0, "metadata.cidrs: the registry needs the database's CIDRs to reach it");
    for (const cidr of metadata.cidrs) check(isCidr(cidr), `metadata.cidrs: ${JSON.stringify(cidr)} is not a CIDR`);
  }
  if (metadata.type === "rds" && metadata.caCertificate !== undefined) {
    check(metadata.caCertificate.includes("-----BEGIN CERTIFICATE-----"), "metadata.caCertificate: expected PEM");
  }

  const tls = args.tls ?? {};
  const lb = args.loadBalancer;
  const type = loadBalancerType(args);
  check(DNS_NAME.test(lb.hostName), `loadBalancer.hostName: ${JSON.stringify(lb.hostName)} is not a DNS name`);
  check(
    type !== "application" || tls.certificateArn !== undefined,
    "loadBalancer.type: an application load balancer serves HTTPS with an ACM certificate: set tls.certificateArn",
  );
  check(
    (tls.certificatePem === undefined) === (tls.privateKeyPem === undefined),
    "tls: certificatePem and privateKeyPem go together",
  );
  check(
    tls.certificateArn === undefined || tls.certificatePem === undefined,
    "tls: give certificateArn (TLS at the load balancer) or certificatePem (TLS in the task), not both",
  );
  check(
    !((lb.zone ?? "ingress") === "production" && lb.internal === false),
    "loadBalancer.internal: a load balancer in the production zone must be internal (no public load balancer there)",
  );
  const idle = lb.idleTimeoutSeconds ?? 900;
  check(Number.isInteger(idle) && idle >= 60 && idle <= 4000, `loadBalancer.idleTimeoutSeconds: expected 60 to 4000`);
  check(
    LOG_RETENTION_DAYS.includes(args.logRetentionDays ?? 90),
    `logRetentionDays: expected one of ${LOG_RETENTION_DAYS.join(", ")}`,
  );
  for (const cidr of [...(args.zones?.proxy?.egressProxyCidrs ?? []), ...(args.zones?.production?.cidrs ?? [])]) {
    check(isCidr(cidr), `zones: ${JSON.stringify(cidr)} is not a CIDR`);
  }
  for (const [name, cidrs] of Object.entries(args.zones?.internet?.endpoints ?? {})) {
    for (const cidr of cidrs)
      check(isCidr(cidr), `zones.internet.endpoints.${name}: ${JSON.stringify(cidr)} is not a CIDR`);
  }
  if (problems.length === 0) {
    // The rules need valid CIDRs; they name every missing path themselves.
    try {
      deriveSecurityRules(securityRuleInputs(args, ["10.0.0.0/24"]));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new AwsRegistryError(`invalid AWS registry settings:\n  ${problems.join("\n  ")}`);
}

/** True for an IPv6 CIDR (the rule resources take IPv4 and IPv6 ranges in different fields). */
export function isIpv6Cidr(cidr: string): boolean {
  return isIP(cidr.split("/")[0] ?? "") === 6;
}

export type {
  AwsEphemeralStorage,
  AwsLoadBalancerSettings,
  AwsMetadata,
  AwsPostgresMetadata,
  AwsRdsMetadata,
  AwsS3Storage,
  AwsSqliteMetadata,
  AwsStorage,
  AwsTlsSettings,
  AwsZonesArgs,
} from "./aws-settings";
