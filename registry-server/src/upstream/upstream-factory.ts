// The one place that knows every registry type: builds the adapter for an endpoint. Every type is
// the generic v2 client; they differ in base URL (Docker Hub's v2 API is not the URL users give),
// repository naming (Docker Hub's `library/`) and credential (ECR's token exchange). Each adapter
// owns its connections (TLS settings and egress proxy), released by `close()`.

import { defaultUrl } from "./adapter-catalog.ts";
import type { CredentialSource } from "./authorized-requester.ts";
import { dockerHubBaseUrl, dockerHubRepository } from "./docker-hub.ts";
import { HttpTransport } from "./http-transport.ts";
import { RegistryClient } from "./registry-client.ts";
import type { EgressSettings, UpstreamEndpoint, UpstreamFactory, UpstreamRegistry } from "./upstream-registry.ts";

export interface UpstreamFactoryOptions {
  /** Tags asked for per page when listing (tests use small pages to exercise `Link`). */
  readonly tagsPageSize?: number;
}

/** The endpoint's own credential, as it is. */
export function staticCredentials(endpoint: UpstreamEndpoint): CredentialSource {
  const credential = endpoint.credential;
  const value = credential && { username: credential.accessKey, password: credential.accessSecret };
  return () => Promise.resolve(value);
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
        throw new Error("aws-ecr endpoints are not supported yet");
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
