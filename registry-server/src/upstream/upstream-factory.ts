// The one place that knows every registry type: builds the adapter for an endpoint. Every type is
// the generic v2 client; they differ in base URL (Docker Hub's v2 API is not the URL users give),
// repository naming (Docker Hub's `library/`) and credential (ECR's token exchange). Each adapter
// owns its connections (TLS settings and egress proxy), released by `close()`.

import { defaultUrl } from "./adapter-catalog.ts";
import type { CredentialSource } from "./authorized-requester.ts";
import { dockerHubBaseUrl, dockerHubRepository } from "./docker-hub.ts";
import { EcrCredentials, ecrRegion } from "./ecr-credentials.ts";
import { HttpTransport } from "./http-transport.ts";
import { RegistryClient } from "./registry-client.ts";
import {
  UpstreamError,
  type EgressSettings,
  type UpstreamEndpoint,
  type UpstreamFactory,
  type UpstreamRegistry,
} from "./upstream-registry.ts";

export interface UpstreamFactoryOptions {
  /** Tags asked for per page when listing (tests use small pages to exercise `Link`). */
  readonly tagsPageSize?: number;
  /** ECR's API URL and region, for registries whose URL does not name them (tests on loopback). */
  readonly ecr?: { readonly apiUrl?: string; readonly region?: string };
}

/** The endpoint's own credential, as it is. */
export function staticCredentials(endpoint: UpstreamEndpoint): CredentialSource {
  const credential = endpoint.credential;
  const value = credential && { username: credential.accessKey, password: credential.accessSecret };
  return () => Promise.resolve(value);
}

/** ECR: the endpoint's access key id and secret exchanged for a registry password. */
function ecrCredentials(
  endpoint: UpstreamEndpoint,
  transport: HttpTransport,
  options: UpstreamFactoryOptions,
  baseUrl: string,
): CredentialSource {
  const credential = endpoint.credential;
  if (!credential) return staticCredentials(endpoint);
  const region = options.ecr?.region ?? ecrRegion(baseUrl);
  let exchange: EcrCredentials | undefined;
  return () => {
    if (!region) {
      const expected = "https://<account>.dkr.ecr.<region>.amazonaws.com";
      return Promise.reject(new UpstreamError("protocol", `an aws-ecr endpoint's URL is ${expected}`));
    }
    exchange ??= new EcrCredentials(
      transport,
      { accessKeyId: credential.accessKey, secretAccessKey: credential.accessSecret },
      { region, ...(options.ecr?.apiUrl !== undefined && { apiUrl: options.ecr.apiUrl }) },
    );
    return exchange.get();
  };
}

function baseUrlOf(endpoint: UpstreamEndpoint): string {
  const url = endpoint.url || defaultUrl(endpoint.type);
  if (!url) throw new Error(`registry endpoint ${endpoint.name} has no URL`);
  return url.replace(/\/+$/, "");
}

export function createUpstreamFactory(egress: EgressSettings, options: UpstreamFactoryOptions = {}): UpstreamFactory {
  return (endpoint: UpstreamEndpoint): UpstreamRegistry => {
    const transport = new HttpTransport({
      egress,
      insecure: endpoint.insecure,
      ...(endpoint.caCertificate !== undefined && { caCertificate: endpoint.caCertificate }),
    });
    const common = {
      transport,
      credentials: staticCredentials(endpoint),
      ...(options.tagsPageSize !== undefined && { tagsPageSize: options.tagsPageSize }),
    };
    const baseUrl = baseUrlOf(endpoint);
    switch (endpoint.type) {
      case "docker-hub":
        return new RegistryClient(endpoint, {
          ...common,
          baseUrl: dockerHubBaseUrl(baseUrl),
          repositoryName: dockerHubRepository,
        });
      case "aws-ecr":
        return new RegistryClient(endpoint, {
          ...common,
          baseUrl,
          credentials: ecrCredentials(endpoint, transport, options, baseUrl),
        });
      case "docker-registry":
      case "harbor":
      case "github-ghcr":
      case "quay":
      case "google-gcr":
      case "azure-acr":
        // Token services with the Docker flow (GHCR, Quay, GCR with `_json_key`, ACR) or basic.
        return new RegistryClient(endpoint, { ...common, baseUrl });
    }
  };
}
