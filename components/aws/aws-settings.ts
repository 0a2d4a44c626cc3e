// The settings of the registry on AWS that decide its shape: where blobs and metadata live, how
// TLS is done, how clients reach it, which zones surround it. Types only, documented field by
// field; aws-registry-args.ts checks them as a whole.

import type * as pulumi from "@pulumi/pulumi";
import type { InternetZone } from "../network/network-zones";
import type { AwsZone } from "./aws-tags";

/** Blobs in an S3 bucket made for the registry: encrypted, versioned, private. */
export interface AwsS3Storage {
  type: "s3";
  /** Key prefix inside the bucket. Default none. */
  prefix?: string;
  /** Days a replaced or deleted blob's old version is kept. Default 30. */
  noncurrentVersionDays?: number;
  /** Days after which an unfinished multipart upload is aborted (its parts are billed until then). Default 7. */
  abortIncompleteUploadDays?: number;
  /** Let `pulumi destroy` delete a bucket that still holds blobs. Default false: the content outlives the stack. */
  forceDestroy?: boolean;
}

/** Blobs on the task's own disk: lost whenever the task is replaced. For trials, one replica. */
export interface AwsEphemeralStorage {
  type: "ephemeral";
  /** The task's ephemeral storage, 21 to 200 GiB. Default 100. */
  sizeGiB?: number;
}

export type AwsStorage = AwsS3Storage | AwsEphemeralStorage;

/** A PostgreSQL RDS instance made for the registry, in the production (private) zone. */
export interface AwsRdsMetadata {
  type: "rds";
  /** Default `db.t4g.small`. */
  instanceClass?: string;
  /** Default 20 GiB (it grows up to ten times that by itself). */
  allocatedStorageGiB?: number;
  /** PostgreSQL major version. Default `17`. */
  engineVersion?: string;
  /** A standby in another zone. Default false. */
  multiAz?: boolean;
  /** Days of automated backups. Default 7. */
  backupRetentionDays?: number;
  /** Refuse to delete the instance (set false before a `destroy`). Default true. */
  deletionProtection?: boolean;
  /**
   * The RDS CA bundle of the region (PEM, from truststore.pki.rds.amazonaws.com): the server then
   * verifies the database's certificate (`sslmode=verify-full`). Without it the connection is
   * encrypted but the certificate is not verified (`sslmode=require`, libpq's meaning).
   */
  caCertificate?: string;
}

/** An existing PostgreSQL database. */
export interface AwsPostgresMetadata {
  type: "postgres";
  /** `postgres://user:password@host:5432/db?sslmode=verify-full`: kept in Secrets Manager (a secret). */
  url: pulumi.Input<string>;
  /** Where the database is, for the security group rule that lets the registry reach it. */
  cidrs: string[];
  /** Its port. Default 5432. */
  port?: number;
}

/** SQLite on the task's own disk: lost whenever the task is replaced. For trials, one replica. */
export interface AwsSqliteMetadata {
  type: "sqlite";
}

export type AwsMetadata = AwsRdsMetadata | AwsPostgresMetadata | AwsSqliteMetadata;

/**
 * TLS: at the load balancer with an ACM certificate (the task gets a generated certificate for
 * the hop behind it), or in the task with a certificate given here or generated (the load
 * balancer then passes TCP through).
 */
export interface AwsTlsSettings {
  /** An ACM certificate for `loadBalancer.hostName`: TLS ends at the load balancer. */
  certificateArn?: pulumi.Input<string>;
  /** PEM certificate (chain) for the task, instead of a generated one. */
  certificatePem?: pulumi.Input<string>;
  /** PEM private key of certificatePem (a secret). */
  privateKeyPem?: pulumi.Input<string>;
  /** PEM of the CA clients trust, published as the stack's CA: a private ACM CA or the issuer of certificatePem. */
  caCertificate?: pulumi.Input<string>;
}

export interface AwsLoadBalancerSettings {
  /** DNS name clients use, e.g. `registry.dmz.example`: in the certificate and the URL. */
  hostName: string;
  /** `application` (HTTPS, needs certificateArn) or `network` (TLS or TCP). Default: application with certificateArn. */
  type?: "application" | "network";
  /** An internal load balancer, reached only from inside the network. Default true. */
  internal?: boolean;
  /** The zone whose subnets hold it. Default `ingress`; a production-zone one must be internal. */
  zone?: Extract<AwsZone, "ingress" | "production">;
  /** Seconds an idle connection stays open (a large layer can be slow). Default 900. */
  idleTimeoutSeconds?: number;
  /** A Route 53 hosted zone to add hostName to (an alias of the load balancer). */
  route53ZoneId?: pulumi.Input<string>;
}

/** The DMZ guide's zones, as the Kubernetes target declares them (components/network/). */
export interface AwsZonesArgs {
  /** CIDRs of each upstream reached directly, by endpoint name. */
  internet?: InternetZone;
  /** The corporate egress proxy: the only way out for the upstreams that go through it. */
  proxy?: { egressProxyCidrs?: string[] };
  /** Networks outside this VPC that pull (other VPCs' or on-premises clusters), besides its production subnets. */
  production?: { cidrs?: string[] };
}
