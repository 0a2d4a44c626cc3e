// What each registry type looks like to a user, as Harbor describes it in
// `/replication/adapterinfos` and `/registries/{id}/info`: its usual URLs (a fixed one for
// Docker Hub and GHCR, a list for GCR and ECR, any URL otherwise) and what its credential holds.
// The factory uses the first URL as the default when an endpoint gives none.

import { UPSTREAM_TYPES, type UpstreamType } from "./upstream-registry.ts";

export interface AdapterInfo {
  readonly description: string;
  /** Harbor's EndpointPatternType*: Standard (any URL), Fix (one URL), List (choose one). */
  readonly endpointType: "EndpointPatternTypeStandard" | "EndpointPatternTypeFix" | "EndpointPatternTypeList";
  readonly endpoints: readonly { key: string; value: string }[];
  readonly credential?: {
    readonly accessKeyType: string;
    readonly accessKeyData: string;
    readonly accessSecretType: string;
    readonly accessSecretData: string;
  };
}

const STANDARD = { endpointType: "EndpointPatternTypeStandard", endpoints: [] } as const;

export const ADAPTERS: Readonly<Record<UpstreamType, AdapterInfo>> = {
  "docker-hub": {
    description: "Docker Hub (registry-1.docker.io); one-component names are official images (library/)",
    endpointType: "EndpointPatternTypeFix",
    endpoints: [{ key: "hub.docker.com", value: "https://hub.docker.com" }],
  },
  "docker-registry": { description: "Any OCI Distribution (Docker Registry v2) registry", ...STANDARD },
  harbor: { description: "Harbor, through its registry API", ...STANDARD },
  "github-ghcr": {
    description: "GitHub Container Registry",
    endpointType: "EndpointPatternTypeFix",
    endpoints: [{ key: "ghcr.io", value: "https://ghcr.io" }],
  },
  quay: {
    description: "Quay.io or a Quay installation",
    endpointType: "EndpointPatternTypeStandard",
    endpoints: [{ key: "quay.io", value: "https://quay.io" }],
  },
  "google-gcr": {
    description: "Google Container Registry and Artifact Registry (access key _json_key, secret the key file)",
    endpointType: "EndpointPatternTypeList",
    endpoints: ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io"].map((host) => ({
      key: host,
      value: `https://${host}`,
    })),
    credential: {
      accessKeyType: "AccessKeyTypeFix",
      accessKeyData: "_json_key",
      accessSecretType: "AccessSecretTypeFile",
      accessSecretData: "No Change",
    },
  },
  "aws-ecr": {
    description:
      "Amazon ECR: https://<account>.dkr.ecr.<region>.amazonaws.com with an access key id and secret access key",
    // The URL names the account's registry, so there is no list to choose from.
    ...STANDARD,
  },
  "azure-acr": { description: "Azure Container Registry (https://<name>.azurecr.io)", ...STANDARD },
};

/** Harbor's adapter names, in a stable order. */
export function adapterTypes(): string[] {
  return [...UPSTREAM_TYPES];
}

/** The URL an endpoint of this type uses when it names none. */
export function defaultUrl(type: UpstreamType): string | undefined {
  return ADAPTERS[type].endpoints[0]?.value;
}

/** Harbor's JSON for an adapter's endpoint and credential patterns. */
export function adapterInfoJson(type: UpstreamType): Record<string, unknown> {
  const info = ADAPTERS[type];
  return {
    endpoint_pattern: { endpoint_type: info.endpointType, endpoints: info.endpoints },
    ...(info.credential && {
      credential_pattern: {
        access_key_type: info.credential.accessKeyType,
        access_key_data: info.credential.accessKeyData,
        access_secret_type: info.credential.accessSecretType,
        access_secret_data: info.credential.accessSecretData,
      },
    }),
  };
}
