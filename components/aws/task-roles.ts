// The two IAM roles of the registry's tasks, each with one inline policy from iam-policies.ts: the
// task role the server runs with (its bucket and nothing else; none when blobs stay on the task's
// disk) and the execution role the ECS agent uses to start the task (image, logs, secrets). No
// managed policy is attached: AWS's AmazonECSTaskExecutionRolePolicy would allow every ECR
// repository and log group of the account.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecsTasksTrustPolicy, executionRolePolicy, taskRolePolicy } from "./iam-policies";

export interface TaskRolesArgs {
  /** The blobs' bucket and key prefix; leave out when blobs stay on the task's disk. */
  bucket?: { arn: pulumi.Input<string>; prefix?: string };
  logGroupArn: pulumi.Input<string>;
  secretArns: pulumi.Input<string>[];
  kmsKeyArn?: pulumi.Input<string>;
  imageRepositoryArn?: pulumi.Input<string>;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

export class TaskRoles extends pulumi.ComponentResource {
  public readonly taskRoleArn: pulumi.Output<string>;
  public readonly executionRoleArn: pulumi.Output<string>;

  constructor(name: string, args: TaskRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:TaskRoles", name, {}, opts);
    const child = { parent: this };
    const role = (suffix: string, description: string) =>
      new aws.iam.Role(
        `${name}-${suffix}`,
        {
          description,
          assumeRolePolicy: JSON.stringify(ecsTasksTrustPolicy()),
          tags: { ...args.tags, Name: `${name}-${suffix}` },
        },
        child,
      );
    const task = role("task", "Airlock registry server: its blob bucket only");
    const execution = role("execution", "Airlock registry tasks' ECS agent: image, logs, secrets");

    const bucket = args.bucket;
    if (bucket) {
      new aws.iam.RolePolicy(
        `${name}-task`,
        {
          role: task.id,
          policy: pulumi.all([bucket.arn, args.kmsKeyArn]).apply(([bucketArn, kmsKeyArn]) =>
            JSON.stringify(
              taskRolePolicy({
                bucketArn,
                ...(bucket.prefix !== undefined && { prefix: bucket.prefix }),
                ...(kmsKeyArn !== undefined && { kmsKeyArn }),
              }),
            ),
          ),
        },
        child,
      );
    }
    new aws.iam.RolePolicy(
      `${name}-execution`,
      {
        role: execution.id,
        policy: pulumi
          .all([args.logGroupArn, pulumi.all(args.secretArns), args.kmsKeyArn, args.imageRepositoryArn])
          .apply(([logGroupArn, secretArns, kmsKeyArn, imageRepositoryArn]) =>
            JSON.stringify(
              executionRolePolicy({
                logGroupArn,
                secretArns,
                ...(kmsKeyArn !== undefined && { kmsKeyArn }),
                ...(imageRepositoryArn !== undefined && { imageRepositoryArn }),
              }),
            ),
          ),
      },
      child,
    );
    this.taskRoleArn = task.arn;
    this.executionRoleArn = execution.arn;
    this.registerOutputs({ taskRoleArn: this.taskRoleArn, executionRoleArn: this.executionRoleArn });
  }
}
