// The registry's server as an ECS Fargate service: its CloudWatch log group, its two roles
// (task-roles.ts), a cluster, the task definition (task-definition.ts) and the service in the
// proxy zone's subnets behind the load balancer's target group. The service and its task carry
// the `airlock:` tags that say what they store where, which the policy pack reads.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { MirrorSettings, UpstreamSettings } from "../server-config/server-settings";
import { AIRLOCK_TAGS } from "./aws-tags";
import { registryContainerDefinitions, TASK_VOLUMES, taskServerConfigYaml } from "./task-definition";
import { TaskRoles } from "./task-roles";
import type { TaskSecretReferences } from "./task-secrets";

export interface RegistryServiceArgs {
  image: pulumi.Input<string>;
  imageRepositoryArn?: pulumi.Input<string>;
  region: string;
  port: number;
  replicas: number;
  /** CPU units of a task (1024 = one vCPU); the server runs one worker per whole vCPU, at least one. */
  cpu: number;
  memory: number;
  architecture: "X86_64" | "ARM64";
  /** Blobs in this bucket, or (none) on the task's ephemeral storage of `ephemeralStorageGiB`. */
  bucket?: { name: pulumi.Input<string>; arn: pulumi.Input<string>; prefix?: string };
  ephemeralStorageGiB?: number;
  metadata: "postgres" | "sqlite";
  /** The database's CA bundle, written into the task when the URL verifies it. */
  databaseCaPem?: string;
  adminUsername: string;
  logLevel: string;
  upstream: UpstreamSettings;
  mirror: MirrorSettings;
  /** Where the load balancer connects from, when it names the client in X-Forwarded-For. */
  trustedProxies: string[];
  tlsCertificatePem: pulumi.Input<string>;
  secretArns: pulumi.Input<string>[];
  secretReferences: pulumi.Input<TaskSecretReferences>;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  targetGroupArn: pulumi.Input<string>;
  /** What the service waits for: the listener, so tasks register behind a working port. */
  listener: pulumi.Resource;
  logRetentionDays: number;
  kmsKeyArn?: pulumi.Input<string>;
  tags: Record<string, string>;
}

export class RegistryService extends pulumi.ComponentResource {
  /** Known once the service is steady (its tasks pass their health checks). */
  public readonly serviceId: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: RegistryServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:RegistryService", name, {}, opts);
    const child = { parent: this };
    const bucket = args.bucket;
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        retentionInDays: args.logRetentionDays,
        ...(args.kmsKeyArn !== undefined && { kmsKeyId: args.kmsKeyArn }),
        tags: args.tags,
      },
      child,
    );
    const roles = new TaskRoles(
      name,
      {
        ...(bucket && { bucket: { arn: bucket.arn, ...(bucket.prefix !== undefined && { prefix: bucket.prefix }) } }),
        logGroupArn: logGroup.arn,
        secretArns: args.secretArns,
        ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
        ...(args.imageRepositoryArn !== undefined && { imageRepositoryArn: args.imageRepositoryArn }),
        tags: args.tags,
      },
      child,
    );
    const containerDefinitions = pulumi
      .all([args.image, bucket?.name, logGroup.name, args.tlsCertificatePem, args.secretReferences])
      .apply(([image, bucketName, logGroupName, certPem, secrets]) =>
        JSON.stringify(
          registryContainerDefinitions({
            image,
            port: args.port,
            region: args.region,
            logGroupName,
            configYaml: taskServerConfigYaml({
              port: args.port,
              adminUsername: args.adminUsername,
              logLevel: args.logLevel,
              ...(bucketName !== undefined && {
                s3: {
                  bucket: bucketName,
                  region: args.region,
                  ...(bucket?.prefix !== undefined && { prefix: bucket.prefix }),
                },
              }),
              metadata: args.metadata,
              upstream: args.upstream,
              mirror: args.mirror,
              trustedProxies: args.trustedProxies,
              cpu: args.cpu,
            }),
            tlsCertificatePem: certPem,
            ...(args.databaseCaPem !== undefined && { databaseCaPem: args.databaseCaPem }),
            secrets,
          }),
        ),
      );
    // What the policy pack and a reader of the console learn from the service alone.
    const tags = {
      ...args.tags,
      [AIRLOCK_TAGS.component]: "registry",
      [AIRLOCK_TAGS.storage]: bucket ? "s3" : "ephemeral",
      [AIRLOCK_TAGS.metadata]: args.metadata,
    };
    const cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { settings: [{ name: "containerInsights", value: "enabled" }], tags: args.tags },
      child,
    );
    const task = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: name,
        cpu: String(args.cpu),
        memory: String(args.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.architecture },
        executionRoleArn: roles.executionRoleArn,
        taskRoleArn: roles.taskRoleArn,
        containerDefinitions,
        volumes: TASK_VOLUMES.map((volume) => ({ name: volume })),
        ...(args.ephemeralStorageGiB !== undefined && { ephemeralStorage: { sizeInGib: args.ephemeralStorageGiB } }),
        tags,
      },
      child,
    );
    // Shared backends roll a new task in before an old one goes; a task's own disk cannot be
    // shared, so there the old task stops first.
    const shared = bucket !== undefined && args.metadata === "postgres";
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: cluster.arn,
        taskDefinition: task.arn,
        desiredCount: args.replicas,
        launchType: "FARGATE",
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          assignPublicIp: false,
        },
        loadBalancers: [{ targetGroupArn: args.targetGroupArn, containerName: "registry", containerPort: args.port }],
        healthCheckGracePeriodSeconds: 180,
        deploymentMinimumHealthyPercent: shared ? 100 : 0,
        deploymentMaximumPercent: shared ? 200 : 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        // `up` returns once the tasks serve: the registry resources then reach the API.
        waitForSteadyState: true,
        tags,
      },
      { ...child, dependsOn: [args.listener] },
    );
    this.serviceId = service.id;
    this.logGroupName = logGroup.name;
    this.registerOutputs({ serviceId: this.serviceId, logGroupName: this.logGroupName });
  }
}
