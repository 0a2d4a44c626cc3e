// The one place that knows every registry type: builds the adapter for an endpoint (and, for
// replication, its writer and discovery). Every type is the generic v2 client; they differ in
// base URL (Docker Hub's v2 API is not the URL users give), repository naming (Docker Hub's
// `library/`), credential (ECR's token exchange) and how repositories are listed (a catalog,
// Harbor's API, or only by name). Each adapter owns its connections (TLS settings and egress
// proxy), released by `close()`.

import { defaultUrl } from "./adapter-catalog.ts";
import { AuthorizedRequester, type CredentialSource } from "./authorized-requester.ts";
import { BearerTokens } from "./bearer-tokens.ts";
import { dockerHubBaseUrl, dockerHubRepository } from "./docker-hub.ts";
import { EcrApi } from "./ecr-api.ts";
import { EcrCredentials, ecrRegion } from "./ecr-credentials.ts";
import { HarborApi } from "./harbor-api.ts";
import { HttpTransport } from "./http-transport.ts";
import { RegistryClient } from "./registry-client.ts";
import { HttpRegistryDiscovery, type RegistryDiscovery, type RepositoryListing } from "./registry-discovery.ts";
import { HttpRegistryWriter, type RegistryWriter, type WriteQuirks } from "./registry-writer.ts";
import {
  UpstreamError,
  type EgressSettings,
  type UpstreamCredential,
  type UpstreamEndpoint,
  type UpstreamFactory,
  type UpstreamRegistry,
} from "./upstream-registry.ts";

export interface UpstreamFactoryOptions {
  /** Tags asked for per page when listing (tests use small pages to exercise `Link`). */
  readonly tagsPageSize?: number;
  /** Repositories asked for per `_catalog` page (the same, for replication's listing). */
  readonly catalogPageSize?: number;
  /** ECR's API URL and region, for registries whose URL does not name them (tests on loopback). */
  readonly ecr?: { readonly apiUrl?: string; readonly region?: string };
}

/** The endpoint's own credential, as it is. */
export function staticCredentials(endpoint: UpstreamEndpoint): CredentialSource {
  const credential = endpoint.credential;
  const value = credential && { username: credential.accessKey, password: credential.accessSecret };
  return () => Promise.resolve(value);
}

/** ECR's API with the endpoint's access key id and secret; made at first use, refused without a region. */
function ecrApiOf(
  credential: UpstreamCredential,
  transport: HttpTransport,
  options: UpstreamFactoryOptions,
  baseUrl: string,
): () => EcrApi {
  const region = options.ecr?.region ?? ecrRegion(baseUrl);
  let api: EcrApi | undefined;
  return () => {
    if (!region) {
      const expected = "https://<account>.dkr.ecr.<region>.amazonaws.com";
      throw new UpstreamError("protocol", `an aws-ecr endpoint's URL is ${expected}`);
    }
    api ??= new EcrApi(
      transport,
      { accessKeyId: credential.accessKey, secretAccessKey: credential.accessSecret },
      { region, ...(options.ecr?.apiUrl !== undefined && { apiUrl: options.ecr.apiUrl }) },
    );
    return api;
  };
}

/** ECR: the access key id and secret exchanged for a registry password. */
function ecrCredentials(api: () => EcrApi): CredentialSource {
  let exchange: EcrCredentials | undefined;
  return async () => {
    exchange ??= new EcrCredentials(api());
    return exchange.get();
  };
}

/** ECR's repositories are created, and images deleted, through its API (Harbor's ECR adapter). */
function ecrQuirks(api: () => EcrApi): WriteQuirks {
  return {
    prepare: (repository, signal) => api().ensureRepository(repository, signal),
    deleteTag: (repository, tag, signal) => api().deleteImage(repository, { imageTag: tag }, signal),
    deleteManifest: (repository, digest, signal) => api().deleteImage(repository, { imageDigest: digest }, signal),
  };
}

/** Harbor: a project before the first push into it, and tags deleted through its API. */
function harborQuirks(harbor: HarborApi): WriteQuirks {
  return {
    prepare: (repository, signal) => harbor.ensureProject(repository, signal),
    deleteTag: (repository, tag, signal) => harbor.deleteTag(repository, tag, signal),
  };
}

function baseUrlOf(endpoint: UpstreamEndpoint): string {
  const url = endpoint.url || defaultUrl(endpoint.type);
  if (!url) throw new Error(`registry endpoint ${endpoint.name} has no URL`);
  return url.replace(/\/+$/, "");
}

/** Where an endpoint's v2 API is, whose credential it takes, and how its repositories are named and listed. */
interface RegistryProfile {
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  readonly repositoryName?: (repository: string) => string;
  readonly listing: RepositoryListing;
  readonly quirks?: WriteQuirks;
  readonly harbor?: HarborApi;
}

function profileOf(
  endpoint: UpstreamEndpoint,
  transport: HttpTransport,
  options: UpstreamFactoryOptions,
): RegistryProfile {
  const baseUrl = baseUrlOf(endpoint);
  const credentials = staticCredentials(endpoint);
  switch (endpoint.type) {
    case "docker-hub":
      return { baseUrl: dockerHubBaseUrl(baseUrl), credentials, repositoryName: dockerHubRepository, listing: "named" };
    case "aws-ecr": {
      if (!endpoint.credential) return { baseUrl, credentials, listing: "named" };
      const api = ecrApiOf(endpoint.credential, transport, options, baseUrl);
      return { baseUrl, credentials: ecrCredentials(api), listing: "named", quirks: ecrQuirks(api) };
    }
    case "github-ghcr":
      // Token service with the Docker flow; no `_catalog` (Harbor's adapter says so too).
      return { baseUrl, credentials, listing: "named" };
    case "harbor": {
      const harbor = new HarborApi(transport, credentials, baseUrl);
      return { baseUrl, credentials, listing: "harbor", harbor, quirks: harborQuirks(harbor) };
    }
    case "docker-registry":
    case "quay":
    case "google-gcr":
    case "azure-acr":
      // Token services with the Docker flow (Quay, GCR with `_json_key`, ACR) or basic.
      return { baseUrl, credentials, listing: "catalog" };
  }
}

/**
 * Everything replication needs of one endpoint, over one set of connections (the egress proxy
 * and the endpoint's TLS settings) and one requester, so that reads and writes share tokens.
 * Every registry type takes writes, as every Harbor adapter does (Harbor replicates to Docker
 * Hub, GHCR, Quay, GCR, ECR and ACR alike); what a type lacks (a catalog, deleting a tag alone)
 * has the fallback that the writer and the discovery document.
 */
export interface UpstreamConnection {
  readonly registry: UpstreamRegistry;
  readonly writer: RegistryWriter;
  readonly discovery: RegistryDiscovery;
}

export type UpstreamConnectionFactory = (endpoint: UpstreamEndpoint) => UpstreamConnection;

export function createUpstreamConnections(
  egress: EgressSettings,
  options: UpstreamFactoryOptions = {},
): UpstreamConnectionFactory {
  return (endpoint: UpstreamEndpoint): UpstreamConnection => {
    const transport = new HttpTransport({
      egress,
      insecure: endpoint.insecure,
      ...(endpoint.caCertificate !== undefined && { caCertificate: endpoint.caCertificate }),
    });
    const profile = profileOf(endpoint, transport, options);
    const requester = new AuthorizedRequester(transport, profile.credentials, new BearerTokens(transport));
    const naming = profile.repositoryName && { repositoryName: profile.repositoryName };
    const registry = new RegistryClient(endpoint, {
      transport,
      requester,
      baseUrl: profile.baseUrl,
      credentials: profile.credentials,
      ...naming,
      ...(options.tagsPageSize !== undefined && { tagsPageSize: options.tagsPageSize }),
    });
    const target = { requester, baseUrl: profile.baseUrl };
    const { harbor, quirks } = profile;
    return {
      registry,
      writer: new HttpRegistryWriter({ target, reader: registry, ...naming, ...(quirks && { quirks }) }),
      discovery: new HttpRegistryDiscovery({
        target,
        reader: registry,
        listing: profile.listing,
        ...naming,
        ...(harbor && { harbor }),
        ...(options.catalogPageSize !== undefined && { catalogPageSize: options.catalogPageSize }),
      }),
    };
  };
}

export function createUpstreamFactory(egress: EgressSettings, options: UpstreamFactoryOptions = {}): UpstreamFactory {
  const connect = createUpstreamConnections(egress, options);
  return (endpoint: UpstreamEndpoint): UpstreamRegistry => connect(endpoint).registry;
}
