// The registry's Secrets on Kubernetes: TLS (given, or a CA and certificate generated for the
// stack), the admin password (given, or generated), the S3 credentials and the database
// password when given, and the server's keys when no volume is shared. Every Secret is
// auto-named by Pulumi: a new value makes a new Secret, the Deployment then points at it and
// rolls its pods, since the server reads these files only when it starts.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GeneratedPassword } from "../secrets/generated-password";
import { SERVER_KEY_FILES, ServerKeys } from "../secrets/server-keys";
import { CertificateAuthority } from "../tls/certificate-authority";
import { TlsCertificate } from "../tls/tls-certificate";
import type { MetadataSettings, StorageSettings, TlsSettings } from "./registry-settings";

export interface RegistrySecretsArgs {
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
  tls: TlsSettings;
  /** Names in the generated certificate: the Ingress host and the Service's in-cluster names. */
  dnsNames: string[];
  adminPassword?: pulumi.Input<string>;
  storage: StorageSettings;
  metadata: MetadataSettings;
}

export interface RegistrySecrets {
  tlsSecretName: pulumi.Output<string>;
  /** The CA clients trust, when known: generated, or given with an existing Secret. */
  caCertPem?: pulumi.Output<string>;
  /** Whether the TLS Secret holds `ca.crt` (generated): the Ingress and Prometheus verify with it. */
  tlsSecretHasCa: boolean;
  adminPassword: pulumi.Output<string>;
  adminSecretName: pulumi.Output<string>;
  s3CredentialsSecretName?: pulumi.Output<string>;
  databaseSecretName?: pulumi.Output<string>;
  serverKeysSecretName?: pulumi.Output<string>;
}

const b64 = (value: pulumi.Input<string>): pulumi.Output<string> =>
  pulumi.output(value).apply((text) => Buffer.from(text).toString("base64"));

export function declareRegistrySecrets(
  name: string,
  args: RegistrySecretsArgs,
  parent: pulumi.Resource,
): RegistrySecrets {
  const secret = (suffix: string, data: Record<string, pulumi.Input<string>>, type = "Opaque") =>
    new k8s.core.v1.Secret(
      `${name}-${suffix}`,
      {
        metadata: { namespace: args.namespace, labels: args.labels },
        type,
        data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, pulumi.secret(b64(value))])),
      },
      { parent },
    ).metadata.name;

  let tlsSecretName: pulumi.Output<string>;
  let caCertPem: pulumi.Output<string> | undefined;
  if (args.tls.existingSecret !== undefined) {
    tlsSecretName = pulumi.output(args.tls.existingSecret);
    caCertPem = args.tls.caCertificate === undefined ? undefined : pulumi.output(args.tls.caCertificate);
  } else {
    const ca = new CertificateAuthority(`${name}-ca`, { commonName: `${name} registry CA` }, { parent });
    const certificate = new TlsCertificate(
      `${name}-tls`,
      {
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        commonName: args.dnsNames[0] ?? "localhost",
        dnsNames: [...new Set([...args.dnsNames, ...(args.tls.dnsNames ?? [])])],
      },
      { parent },
    );
    tlsSecretName = secret(
      "tls",
      { "tls.crt": certificate.certPem, "tls.key": certificate.keyPem, "ca.crt": ca.certPem },
      "kubernetes.io/tls",
    );
    caCertPem = ca.certPem;
  }

  const adminPassword =
    args.adminPassword === undefined
      ? new GeneratedPassword(`${name}-admin-password`, {}, { parent }).value
      : pulumi.secret(args.adminPassword);

  const storage = args.storage;
  let s3CredentialsSecretName: pulumi.Output<string> | undefined;
  let serverKeysSecretName: pulumi.Output<string> | undefined;
  if (storage.type === "s3") {
    if (storage.existingSecret !== undefined) s3CredentialsSecretName = pulumi.output(storage.existingSecret);
    else if (storage.accessKeyId !== undefined && storage.secretAccessKey !== undefined) {
      s3CredentialsSecretName = secret("s3", {
        "access-key-id": storage.accessKeyId,
        "secret-access-key": storage.secretAccessKey,
      });
    }
    const keys = new ServerKeys(`${name}-server-keys`, {}, { parent });
    serverKeysSecretName = secret("server-keys", {
      [SERVER_KEY_FILES.tokenSigningKey]: keys.tokenSigningKeyPem,
      [SERVER_KEY_FILES.secretBoxKey]: keys.secretBoxKey,
    });
  }

  const metadata = args.metadata;
  let databaseSecretName: pulumi.Output<string> | undefined;
  if (metadata.type === "postgres") {
    databaseSecretName =
      metadata.existingSecret !== undefined
        ? pulumi.output(metadata.existingSecret)
        : secret("database", { password: metadata.password ?? "" });
  }

  return {
    tlsSecretName,
    ...(caCertPem && { caCertPem }),
    tlsSecretHasCa: args.tls.existingSecret === undefined,
    adminPassword,
    adminSecretName: secret("admin", { password: adminPassword }),
    ...(s3CredentialsSecretName && { s3CredentialsSecretName }),
    ...(databaseSecretName && { databaseSecretName }),
    ...(serverKeysSecretName && { serverKeysSecretName }),
  };
}
