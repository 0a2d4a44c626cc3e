// The registry's secrets in AWS Secrets Manager, where the ECS agent reads them into the task's
// environment at start (task-definition.ts): the admin password, the database URL (its password
// inside), the task's TLS private key and the server's shared keys (one JSON secret, read by key).
// Nothing secret goes into the task definition itself, which anyone allowed to describe tasks
// can read. The values also stay in the stack state, encrypted, as Pulumi secrets.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface TaskSecretsArgs {
  adminPassword: pulumi.Input<string>;
  /** The postgres:// URL with its password; none for SQLite. */
  databaseUrl?: pulumi.Input<string>;
  /** The task's TLS private key (PEM). */
  tlsKeyPem: pulumi.Input<string>;
  /** The server's token signing key (PKCS#8 PEM) and secret-sealing key (base64), shared by the tasks. */
  serverKeys: { tokenSigningKeyPem: pulumi.Input<string>; secretBoxKey: pulumi.Input<string> };
  /** A KMS key for the secrets. Default: the account's aws/secretsmanager key. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Days a deleted secret can be restored. Default 7. */
  recoveryWindowInDays?: number;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

/** References the task definition hands the ECS agent (`arn`, or `arn:json-key::`). */
export interface TaskSecretReferences {
  adminPassword: string;
  tlsKey: string;
  tokenSigningKey: string;
  secretBoxKey: string;
  databaseUrl?: string;
}

export class TaskSecrets extends pulumi.ComponentResource {
  /** Every secret's ARN: the execution role may read these and no other. */
  public readonly arns: pulumi.Output<string>[];
  public readonly references: pulumi.Output<TaskSecretReferences>;

  constructor(name: string, args: TaskSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:TaskSecrets", name, {}, opts);
    const child = { parent: this };
    const secret = (key: string, description: string, value: pulumi.Input<string>): aws.secretsmanager.Secret => {
      const resource = new aws.secretsmanager.Secret(
        `${name}-${key}`,
        {
          description,
          recoveryWindowInDays: args.recoveryWindowInDays ?? 7,
          ...(args.kmsKeyArn !== undefined && { kmsKeyId: args.kmsKeyArn }),
          tags: { ...args.tags, Name: `${name}-${key}` },
        },
        child,
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-${key}`,
        { secretId: resource.id, secretString: pulumi.secret(value) },
        child,
      );
      return resource;
    };
    const admin = secret("admin-password", "Airlock registry: the admin password", args.adminPassword);
    const tls = secret("tls-key", "Airlock registry: the tasks' TLS private key", args.tlsKeyPem);
    const keys = secret(
      "server-keys",
      "Airlock registry: token signing and secret-sealing keys shared by the tasks",
      pulumi
        .all([args.serverKeys.tokenSigningKeyPem, args.serverKeys.secretBoxKey])
        .apply(([tokenSigningKeyPem, secretBoxKey]) => JSON.stringify({ tokenSigningKeyPem, secretBoxKey })),
    );
    const database =
      args.databaseUrl !== undefined
        ? secret("database-url", "Airlock registry: the metadata database's URL", args.databaseUrl)
        : undefined;

    this.arns = [admin.arn, tls.arn, keys.arn, ...(database ? [database.arn] : [])];
    this.references = pulumi
      .all([admin.arn, tls.arn, keys.arn, database?.arn])
      .apply(([adminArn, tlsArn, keysArn, databaseArn]) => ({
        adminPassword: adminArn,
        tlsKey: tlsArn,
        // ECS reads one key of a JSON secret with `<arn>:<key>::` (no version stage or id).
        tokenSigningKey: `${keysArn}:tokenSigningKeyPem::`,
        secretBoxKey: `${keysArn}:secretBoxKey::`,
        ...(databaseArn !== undefined && { databaseUrl: databaseArn }),
      }));
    this.registerOutputs({ arns: this.arns });
  }
}
