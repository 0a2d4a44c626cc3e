// The S3 bucket of the registry's blobs: made for it alone, private and encrypted. Public access
// blocked at the bucket (all four settings) and object ownership enforced (no ACLs at all);
// default encryption (SSE-S3, or SSE-KMS with the given key and S3 bucket keys to cut KMS calls);
// versioning, so a blob deleted by mistake or by a bad garbage collection can be brought back for
// `noncurrentVersionDays`; a lifecycle that aborts multipart uploads left unfinished (a crashed
// push leaves parts that are billed until then) and clears expired delete markers; and a policy
// that refuses any request without TLS. Kept on `destroy` unless forceDestroy is set.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketTlsOnlyPolicy } from "./iam-policies";

export interface BlobBucketArgs {
  /** Days an old version of a blob is kept. Default 30. */
  noncurrentVersionDays?: number;
  /** Days after which an unfinished multipart upload is aborted. Default 7. */
  abortIncompleteUploadDays?: number;
  /** A KMS key for SSE-KMS; SSE-S3 (AES-256) otherwise. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Let `destroy` delete the bucket with its content. Default false. */
  forceDestroy?: boolean;
  /** Tags for every resource. */
  tags: Record<string, string>;
}

export class BlobBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: BlobBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:aws:BlobBucket", name, {}, opts);
    const child = { parent: this };
    const bucket = new aws.s3.Bucket(
      `${name}-blobs`,
      { forceDestroy: args.forceDestroy ?? false, tags: { ...args.tags, Name: `${name}-blobs` } },
      // The blobs outlive the stack unless forceDestroy says otherwise.
      { ...child, retainOnDelete: !(args.forceDestroy ?? false) },
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-blobs`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-blobs`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      child,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-blobs`,
      {
        bucket: bucket.id,
        rules: [
          args.kmsKeyArn !== undefined
            ? {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
                bucketKeyEnabled: true,
              }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ],
      },
      child,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-blobs`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-blobs`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteUploadDays ?? 7 },
          },
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 30 },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
      // A lifecycle on versions needs versioning set first.
      { ...child, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      `${name}-blobs`,
      { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(bucketTlsOnlyPolicy(arn))) },
      // Put after the public access block, which would otherwise race a policy being set.
      { ...child, dependsOn: [publicAccess] },
    );
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}
