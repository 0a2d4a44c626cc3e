// An upstream registry endpoint (Harbor's `/registries`): where a proxy-cache project pulls from
// and with which credential. The registry never returns the credential's secret (it answers
// "*****"), so `read` cannot see it: the secret kept in the state stands for it, and a rotation
// made outside Pulumi is pushed again by changing `credentialVersion`, never by a perpetual diff.
// `read` reports everything else (URL, type, TLS settings, access key, description), so
// `pulumi refresh` shows changes made by hand.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isProjectName, PROJECT_NAME_RULE } from "../project-name";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, createdId, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

/** Harbor's registry types that the proxy cache supports. */
export const REGISTRY_ENDPOINT_TYPES = [
  "docker-hub",
  "docker-registry",
  "harbor",
  "github-ghcr",
  "quay",
  "google-gcr",
  "aws-ecr",
  "azure-acr",
] as const;

export type RegistryEndpointType = (typeof REGISTRY_ENDPOINT_TYPES)[number];

export interface RegistryEndpointArgs {
  /** The registry to manage (from the deployment's outputs); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The endpoint's name, unique in the registry; it labels the proxy metrics. */
  name: pulumi.Input<string>;
  /** The upstream's kind: it decides authentication and naming (Docker Hub's `library/`). */
  type: pulumi.Input<RegistryEndpointType>;
  /** Base URL of the upstream, e.g. https://registry-1.docker.io or https://quay.io. */
  url: pulumi.Input<string>;
  /** Free text shown in the registry. Default empty. */
  description?: pulumi.Input<string>;
  /**
   * User name and password or token (ECR: access key id and secret access key). Leave out for
   * anonymous pulls. The secret is write-only: the registry never shows it again.
   */
  credential?: pulumi.Input<{ accessKey: pulumi.Input<string>; accessSecret: pulumi.Input<string> }>;
  /** Change to send the credential again (after it was rotated outside Pulumi). */
  credentialVersion?: pulumi.Input<number>;
  /** Skip verification of the upstream's TLS certificate. Default false; the DMZ policy refuses it. */
  insecure?: pulumi.Input<boolean>;
  /** PEM CA certificate(s) to trust for this upstream (a private registry with its own CA). */
  caCertificate?: pulumi.Input<string>;
  /** Take over an endpoint that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

interface EndpointInputs {
  connection: RegistryConnection;
  name: string;
  type: RegistryEndpointType;
  url: string;
  description: string;
  credential?: { accessKey: string; accessSecret: string };
  credentialVersion: number;
  insecure: boolean;
  caCertificate?: string;
  adopt: boolean;
}

interface EndpointOutputs extends EndpointInputs {
  registryId: number;
}

const TYPES: readonly string[] = REGISTRY_ENDPOINT_TYPES;

/**
 * Validates the known inputs and normalises them as the registry keeps them. Unknown values (the
 * connection in a preview, see ../unknowns.ts) are passed on as they are and checked once known.
 */
export function checkEndpoint(news: Record<string, unknown>): pulumi.dynamic.CheckResult<EndpointInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const name = news["name"];
  // Endpoint names follow the project-name rule: proxy-cache projects and firewall rules name them.
  if (!isUnknown(name) && !isProjectName(name)) {
    fail("name", `expected ${PROJECT_NAME_RULE}, got ${JSON.stringify(name)}`);
  }
  const type = news["type"];
  if (!isUnknown(type) && (typeof type !== "string" || !TYPES.includes(type))) {
    fail("type", `expected one of ${TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  }
  // Harbor keeps URLs without a trailing slash; normalised here so that refresh stays quiet.
  const url = keepUnknown(news["url"], (value) => {
    const trimmed = typeof value === "string" ? value.replace(/\/+$/, "") : value;
    let parsed: URL | undefined;
    try {
      parsed = typeof trimmed === "string" ? new URL(trimmed) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.username || parsed.search) {
      fail("url", `expected an http(s) URL without credentials or query, got ${JSON.stringify(trimmed)}`);
    }
    return String(trimmed);
  });
  // The credential, or its fields, may be unknown; never echoed.
  const given = news["credential"];
  const credential = keepUnknown(given, (value) => {
    if (value === undefined) return undefined;
    const fields = (value ?? {}) as { accessKey?: unknown; accessSecret?: unknown };
    const bad = (item: unknown): boolean => !isUnknown(item) && (typeof item !== "string" || item === "");
    if (bad(fields.accessKey) || bad(fields.accessSecret))
      fail("credential", "expected a non-empty accessKey and accessSecret");
    return { accessKey: keepUnknown(fields.accessKey, String), accessSecret: keepUnknown(fields.accessSecret, String) };
  });
  const version = news["credentialVersion"] ?? 0;
  if (!isUnknown(version) && (typeof version !== "number" || !Number.isInteger(version) || version < 0)) {
    fail("credentialVersion", `expected a whole number from 0, got ${JSON.stringify(version)}`);
  }
  const ca = news["caCertificate"];
  if (ca !== undefined && !isUnknown(ca) && (typeof ca !== "string" || !ca.includes("-----BEGIN CERTIFICATE-----"))) {
    fail("caCertificate", "expected PEM certificate(s)");
  }
  const description = keepUnknown(news["description"] ?? "", (value) => {
    if (typeof value === "string") return value;
    fail("description", `expected a string, got ${JSON.stringify(value)}`);
    return "";
  });
  const flag = (key: "insecure" | "adopt"): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  const inputs: EndpointInputs = {
    connection: news["connection"] as RegistryConnection,
    name: keepUnknown(name, String),
    type: type as RegistryEndpointType,
    url,
    description,
    ...(credential !== undefined && { credential }),
    credentialVersion: version as number,
    insecure: flag("insecure"),
    // An unknown certificate is the sentinel string: passed on like a known one.
    ...(typeof ca === "string" && { caCertificate: ca }),
    adopt: flag("adopt"),
  };
  return { inputs, failures };
}

function endpointBody(inputs: EndpointInputs): Record<string, unknown> {
  return {
    name: inputs.name,
    type: inputs.type,
    url: inputs.url,
    description: inputs.description,
    insecure: inputs.insecure,
    credential: inputs.credential
      ? { type: "basic", access_key: inputs.credential.accessKey, access_secret: inputs.credential.accessSecret }
      : { type: "basic", access_key: "", access_secret: "" },
    ...(inputs.caCertificate !== undefined && { ca_certificate: inputs.caCertificate }),
  };
}

/** Harbor's PUT body: flat credential fields (RegistryUpdate). */
function updateBody(inputs: EndpointInputs, sendSecret: boolean): Record<string, unknown> {
  return {
    name: inputs.name,
    url: inputs.url,
    description: inputs.description,
    insecure: inputs.insecure,
    credential_type: "basic",
    access_key: inputs.credential?.accessKey ?? "",
    ...(sendSecret && { access_secret: inputs.credential?.accessSecret ?? "" }),
    ca_certificate: inputs.caCertificate ?? "",
  };
}

interface LiveEndpoint {
  name: string;
  type: RegistryEndpointType;
  url: string;
  description: string;
  insecure: boolean;
  accessKey: string;
  caCertificate?: string;
}

async function liveEndpoint(connection: RegistryConnection, id: number): Promise<LiveEndpoint | undefined> {
  const reply = await apiRequest(connection, "GET", `/registries/${id}`);
  if (reply.status === 404) return undefined;
  expectStatus(reply, `reading registry endpoint ${id}`, 200);
  const body = reply.body as {
    name: string;
    type: RegistryEndpointType;
    url: string;
    description?: string;
    insecure?: boolean;
    credential?: { access_key?: string };
    ca_certificate?: string;
  };
  return {
    name: body.name,
    type: body.type,
    url: body.url,
    description: body.description ?? "",
    insecure: body.insecure === true,
    accessKey: body.credential?.access_key ?? "",
    ...(body.ca_certificate ? { caCertificate: body.ca_certificate } : {}),
  };
}

/** The inputs that describe what the registry holds; the secret is the one in the state. */
function inputsFromLive(props: EndpointInputs, live: LiveEndpoint): EndpointInputs {
  const { caCertificate: _ca, credential: _credential, ...rest } = props;
  return {
    ...rest,
    name: live.name,
    type: live.type,
    url: live.url,
    description: live.description,
    insecure: live.insecure,
    ...(live.caCertificate !== undefined && { caCertificate: live.caCertificate }),
    // An access key changed by hand shows as drift; the secret cannot be read back.
    ...(live.accessKey !== "" && {
      credential: { accessKey: live.accessKey, accessSecret: props.credential?.accessSecret ?? "" },
    }),
  };
}

export const endpointProvider: pulumi.dynamic.ResourceProvider<EndpointInputs, EndpointOutputs> = {
  async check(_olds, news) {
    return checkEndpoint(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    // Harbor cannot change an endpoint's type in place.
    const replaces = olds.type !== news.type ? ["type"] : [];
    const changed =
      replaces.length > 0 ||
      (["name", "url", "description", "insecure", "caCertificate", "credentialVersion"] as const).some(
        (key) => olds[key] !== news[key],
      ) ||
      JSON.stringify(olds.credential) !== JSON.stringify(news.credential) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes: changed, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const reply = await apiRequest(inputs.connection, "POST", "/registries", endpointBody(inputs));
    let id: number;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(inputs.connection, "GET", `/registries?q=${encodeURIComponent(`name=${inputs.name}`)}`),
        `adopting registry endpoint ${inputs.name}`,
        200,
      );
      const found = (list.body as Array<{ id: number; name: string }>).find((r) => r.name === inputs.name);
      if (!found) throw new Error(`adopting registry endpoint ${inputs.name}: not found`);
      id = found.id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/registries/${id}`, updateBody(inputs, true)),
        `adopting registry endpoint ${inputs.name}`,
        200,
      );
    } else {
      const what = `creating registry endpoint ${inputs.name}`;
      if (reply.status === 409) expectStatus(reply, `${what} (it exists: set adopt to take it over)`, 201);
      id = createdId(expectStatus(reply, what, 201), what);
    }
    return { id: String(id), outs: { ...inputs, registryId: id } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const live = await liveEndpoint(props.connection, Number(id));
    if (!live) return { id: "", props };
    const inputs = inputsFromLive(props, live);
    return { id, props: { ...inputs, registryId: Number(id) }, inputs: readInputs<EndpointOutputs>(inputs) };
  },

  async update(id, olds, news) {
    const rotate =
      olds.credentialVersion !== news.credentialVersion ||
      olds.credential?.accessSecret !== news.credential?.accessSecret ||
      olds.credential?.accessKey !== news.credential?.accessKey;
    expectStatus(
      await apiRequest(news.connection, "PUT", `/registries/${id}`, updateBody(news, rotate)),
      `updating registry endpoint ${news.name}`,
      200,
    );
    return { outs: { ...news, registryId: Number(id) } };
  },

  async delete(id, props) {
    const reply = await apiRequest(props.connection, "DELETE", `/registries/${id}`);
    expectStatus(reply, `deleting registry endpoint ${props.name}`, 200, 404);
  },
};

/** The provider, recording which stack declared the RegistryEndpoint (./declaration.ts). */
const declaredEndpointProvider = declaredProvider("registry", (outs) => outs.name, endpointProvider);

/** An upstream registry endpoint of the registry, for proxy-cache projects and replication. */
export class RegistryEndpoint extends pulumi.dynamic.Resource {
  declare readonly registryId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: RegistryEndpointArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredEndpointProvider,
      name,
      {
        declaration: declaredBy(name, "RegistryEndpoint", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        registryId: undefined,
      },
      { ...opts, additionalSecretOutputs: ["credential", ...(opts?.additionalSecretOutputs ?? [])] },
      "registry",
      "RegistryEndpoint",
    );
  }
}
