// The registry's metadata database on AWS: a PostgreSQL RDS instance in the production (private)
// zone's subnets, reachable from the registry's tasks only (its security group), never public,
// encrypted at rest, TLS required on every connection (PostgreSQL 15 and later set
// rds.force_ssl by default), backed up daily, protected from deletion, and a final snapshot kept
// if it is deleted all the same. The password is generated and kept in the state as a secret;
// the URL the server gets (through Secrets Manager) carries it.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GeneratedPassword } from "../secrets/generated-password";
import type { AwsRdsMetadata } from "./aws-settings";
import { TASK_PATHS } from "./task-definition";

export interface RegistryDatabaseArgs {
  settings: AwsRdsMetadata;
  /** The production zone's subnets. */
  subnetIds: pulumi.Input<string>[];
  /** The database's security group. */
  securityGroupId: pulumi.Input<string>;
  /** A KMS key for the storage. Default: the account's aws/rds key. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

const DATABASE = "airlock";
const USER = "airlock";

/**
 * The URL the server connects with. With the region's RDS CA bundle (written into the task by
 * `prepare`) the certificate is verified; without it libpq's `require` applies: encrypted, the
 * certificate not checked (node-postgres reads a bare `require` as verify-full, which the RDS
 * CA, absent from Node's store, would fail).
 */
export function databaseUrl(host: string, port: number, password: string, verifyWithCa: boolean): string {
  const tls = verifyWithCa
    ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(TASK_PATHS.databaseCa)}`
    : "uselibpqcompat=true&sslmode=require";
  return `postgres://${USER}:${encodeURIComponent(password)}@${host}:${port}/${DATABASE}?${tls}`;
}

export class RegistryDatabase extends pulumi.ComponentResource {
  /** The URL with the password (a secret). */
  public readonly url: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;

  constructor(name: string, args: RegistryDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:RegistryDatabase", name, {}, opts);
    const child = { parent: this };
    const settings = args.settings;
    const password = new GeneratedPassword(`${name}-database`, { length: 32 }, child);
    const subnets = new aws.rds.SubnetGroup(
      `${name}-database`,
      { subnetIds: args.subnetIds, tags: { ...args.tags, Name: `${name}-database` } },
      child,
    );
    const allocated = settings.allocatedStorageGiB ?? 20;
    const instance = new aws.rds.Instance(
      `${name}-database`,
      {
        engine: "postgres",
        engineVersion: settings.engineVersion ?? "17",
        instanceClass: settings.instanceClass ?? "db.t4g.small",
        allocatedStorage: allocated,
        maxAllocatedStorage: allocated * 10,
        storageType: "gp3",
        storageEncrypted: true,
        ...(args.kmsKeyArn !== undefined && { kmsKeyId: args.kmsKeyArn }),
        dbName: DATABASE,
        username: USER,
        password: password.value,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        multiAz: settings.multiAz ?? false,
        backupRetentionPeriod: settings.backupRetentionDays ?? 7,
        copyTagsToSnapshot: true,
        deletionProtection: settings.deletionProtection ?? true,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: `${name}-database-final`,
        autoMinorVersionUpgrade: true,
        tags: { ...args.tags, Name: `${name}-database` },
      },
      child,
    );
    this.port = instance.port;
    this.url = pulumi.secret(
      pulumi
        .all([instance.address, instance.port, password.value])
        .apply(([host, port, secret]) => databaseUrl(host, port, secret, settings.caCertificate !== undefined)),
    );
    this.registerOutputs({ port: this.port });
  }
}
