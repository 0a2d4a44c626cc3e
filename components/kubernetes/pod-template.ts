// The registry's pod: one container running the image's `node dist/main.js serve`, hardened the way
// the restricted Pod Security level asks (non-root, no privilege escalation, no capabilities, the
// runtime's seccomp profile) with a read-only root filesystem, probed on Harbor's ping (alive)
// and health (ready: storage and metadata answer) endpoints. A pure function of its settings.

import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceSettings } from "./registry-settings";
import { CONFIG_KEY, MOUNTS, S3_CA_KEY, S3_CREDENTIAL_ENV } from "./server-config";

type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** The `node` user of the official Node.js images, which the Dockerfile runs as. */
export const SERVER_UID = 1000;

export interface PodTemplateSettings {
  /** Labels that select the registry's pods. */
  labels: Record<string, string>;
  image: pulumi.Input<string>;
  imagePullPolicy: string;
  imagePullSecrets: string[];
  serviceAccountName: pulumi.Input<string>;
  port: number;
  resources: ResourceSettings;
  /** Seconds the server waits for in-flight requests on SIGTERM. */
  shutdownTimeoutSeconds: number;
  configMapName: pulumi.Input<string>;
  tlsSecretName: pulumi.Input<string>;
  adminSecretName: pulumi.Input<string>;
  /** The data volume's claim (filesystem storage); an emptyDir otherwise. */
  dataClaimName?: pulumi.Input<string>;
  /** The Secret with the token signing and sealing keys, shared by the replicas (S3 storage). */
  serverKeysSecretName?: pulumi.Input<string>;
  /** The Secret with `access-key-id` and `secret-access-key` for S3. */
  s3CredentialsSecretName?: pulumi.Input<string>;
  /** Whether the ConfigMap carries the CA of a private S3 endpoint. */
  s3Ca?: boolean;
  /** The Secret with the database password under `password`. */
  databaseSecretName?: pulumi.Input<string>;
}

export const DEFAULT_RESOURCES = {
  requests: { cpu: "250m", memory: "256Mi" },
  limits: { cpu: "2", memory: "1Gi" },
} as const;

/** The container's requests and limits: the given ones over the defaults. */
export function containerResources(resources: ResourceSettings): {
  requests: { cpu?: string; memory?: string };
  limits: { cpu?: string; memory?: string };
} {
  return {
    requests: { ...DEFAULT_RESOURCES.requests, ...resources.requests },
    limits: { ...DEFAULT_RESOURCES.limits, ...resources.limits },
  };
}

/** Mode 0440: the server's group (fsGroup) reads the Secrets' files, nobody else. */
const SECRET_FILE_MODE = 0o440;

export function registryPodTemplate(settings: PodTemplateSettings): PodTemplateSpec {
  const probe = (path: string) => ({ httpGet: { path, port: "https", scheme: "HTTPS" } });
  const volumes: Volume[] = [
    { name: "config", configMap: { name: settings.configMapName } },
    { name: "tls", secret: { secretName: settings.tlsSecretName, defaultMode: SECRET_FILE_MODE } },
    { name: "admin", secret: { secretName: settings.adminSecretName, defaultMode: SECRET_FILE_MODE } },
    settings.dataClaimName === undefined
      ? { name: "data", emptyDir: {} }
      : { name: "data", persistentVolumeClaim: { claimName: settings.dataClaimName } },
    // The server writes nothing outside its data directory but Node.js may use the temporary one.
    { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
  ];
  const mounts: VolumeMount[] = [
    { name: "config", mountPath: MOUNTS.config, subPath: CONFIG_KEY, readOnly: true },
    { name: "tls", mountPath: MOUNTS.tls, readOnly: true },
    { name: "admin", mountPath: MOUNTS.adminPassword, subPath: "password", readOnly: true },
    { name: "data", mountPath: MOUNTS.data },
    { name: "tmp", mountPath: MOUNTS.tmp },
  ];
  if (settings.serverKeysSecretName !== undefined) {
    volumes.push({
      name: "server-keys",
      secret: { secretName: settings.serverKeysSecretName, defaultMode: SECRET_FILE_MODE },
    });
    mounts.push({ name: "server-keys", mountPath: MOUNTS.serverKeys, readOnly: true });
  }
  if (settings.s3Ca) mounts.push({ name: "config", mountPath: MOUNTS.s3Ca, subPath: S3_CA_KEY, readOnly: true });
  if (settings.databaseSecretName !== undefined) {
    volumes.push({
      name: "database",
      secret: { secretName: settings.databaseSecretName, defaultMode: SECRET_FILE_MODE },
    });
    mounts.push({ name: "database", mountPath: MOUNTS.databasePassword, subPath: "password", readOnly: true });
  }
  const s3Secret = settings.s3CredentialsSecretName;
  const env =
    s3Secret === undefined
      ? []
      : [
          { name: S3_CREDENTIAL_ENV.accessKeyId, key: "access-key-id" },
          { name: S3_CREDENTIAL_ENV.secretAccessKey, key: "secret-access-key" },
        ].map(({ name, key }) => ({ name, valueFrom: { secretKeyRef: { name: s3Secret, key } } }));

  return {
    metadata: { labels: settings.labels },
    spec: {
      serviceAccountName: settings.serviceAccountName,
      // The server never calls the Kubernetes API.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(settings.imagePullSecrets.length > 0 && {
        imagePullSecrets: settings.imagePullSecrets.map((name) => ({ name })),
      }),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SERVER_UID,
        runAsGroup: SERVER_UID,
        fsGroup: SERVER_UID,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
      },
      // SIGTERM lets in-flight pushes finish (shutdownTimeoutSeconds); the kubelet waits longer.
      terminationGracePeriodSeconds: settings.shutdownTimeoutSeconds + 15,
      affinity: {
        // Replicas on different nodes, so that a node's loss leaves one serving; preferred, not
        // required, so that a small cluster can still schedule them all.
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                labelSelector: { matchLabels: settings.labels },
                topologyKey: "kubernetes.io/hostname",
              },
            },
          ],
        },
      },
      containers: [
        {
          name: "registry",
          image: settings.image,
          imagePullPolicy: settings.imagePullPolicy,
          // The image's entry point is `node dist/main.js`; its default command names this config.
          args: ["serve", "--config", MOUNTS.config, "--admin-password-file", MOUNTS.adminPassword],
          ports: [{ name: "https", containerPort: settings.port, protocol: "TCP" }],
          ...(env.length > 0 && { env }),
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
          },
          resources: containerResources(settings.resources),
          // Start-up may migrate the metadata schema: up to five minutes before liveness counts.
          startupProbe: { ...probe("/api/v2.0/ping"), periodSeconds: 5, failureThreshold: 60 },
          livenessProbe: { ...probe("/api/v2.0/ping"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
          readinessProbe: { ...probe("/api/v2.0/health"), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}
