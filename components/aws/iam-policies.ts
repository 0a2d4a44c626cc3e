// The IAM policy documents of the registry on AWS, as pure functions of the ARNs they name, so
// tests read exactly which actions on which resources each role gets. Least privilege, from what
// the server and ECS do and nothing more:
//   the task role (the server itself): the S3 calls of registry-server/src/storage/s3-*.ts, i.e.
//     HeadBucket (s3:ListBucket), Get/HeadObject, PutObject and multipart uploads (s3:PutObject),
//     AbortMultipartUpload, DeleteObject; on its bucket and key prefix only; the KMS key when the
//     bucket uses one. No listing of keys is needed, none of the bucket's settings may change.
//   the execution role (the ECS agent): the image from its ECR repository, the log stream, the
//     task's secrets (and their KMS key).

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  /** Absent in a trust policy, which names its principal instead. */
  Resource?: string | string[];
  Principal?: { Service: string } | { AWS: string } | "*";
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** Who may assume the task and execution roles: ECS tasks. */
export function ecsTasksTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EcsTasks",
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: ["sts:AssumeRole"],
      },
    ],
  };
}

/** The objects' ARN pattern: the whole bucket, or under the prefix. */
export function objectArns(bucketArn: string, prefix: string | undefined): string {
  return prefix ? `${bucketArn}/${prefix}/*` : `${bucketArn}/*`;
}

/** The server's permissions: its bucket's objects (under its prefix) and the bucket's KMS key. */
export function taskRolePolicy(settings: { bucketArn: string; prefix?: string; kmsKeyArn?: string }): PolicyDocument {
  const statements: PolicyStatement[] = [
    // HeadBucket, which /api/v2.0/health calls, is authorised as s3:ListBucket.
    { Sid: "BucketHealth", Effect: "Allow", Action: ["s3:ListBucket"], Resource: settings.bucketArn },
    {
      Sid: "Blobs",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: objectArns(settings.bucketArn, settings.prefix),
    },
  ];
  if (settings.kmsKeyArn) {
    statements.push({
      Sid: "BlobEncryption",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: settings.kmsKeyArn,
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** The ECS agent's permissions: pull the image, write the logs, read the task's secrets. */
export function executionRolePolicy(settings: {
  logGroupArn: string;
  secretArns: string[];
  kmsKeyArn?: string;
  imageRepositoryArn?: string;
}): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "Logs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${settings.logGroupArn}:*`,
    },
    { Sid: "Secrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: settings.secretArns },
  ];
  if (settings.imageRepositoryArn) {
    statements.push(
      // The token call names no repository: AWS accepts only "*" for it.
      { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      {
        Sid: "Image",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        Resource: settings.imageRepositoryArn,
      },
    );
  }
  if (settings.kmsKeyArn) {
    statements.push({ Sid: "SecretsKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: settings.kmsKeyArn });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** The bucket's own policy: nothing reaches it without TLS, whoever asks. */
export function bucketTlsOnlyPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TlsOnly",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:*"],
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
