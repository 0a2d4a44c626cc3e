// A registry project, managed through the Harbor-compatible API: name (replacing the project
// when it changes), visibility, metadata, storage quota and its security gate (scanning,
// vulnerable and unsigned pulls refused, the CVE allowlist: ./project-security.ts). `read` reports what the registry
// holds, so `pulumi refresh` shows changes made by hand and the next `up` puts them back. An
// existing project of the same name is adopted when `adopt` is set (`pulumi import` does not
// work for dynamic resources).
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isProjectName, PROJECT_NAME_RULE } from "../project-name";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, readInputs, createdId, expectStatus, stableJson, type RegistryConnection } from "./api-client";
import {
  allowlistBody,
  checkProjectSecurity,
  SECURITY_INPUTS,
  SECURITY_METADATA_KEYS,
  securityFromHarbor,
  securityMetadata,
  TRUSTED_KEYS_KEY,
  type ProjectSecurity,
  type Severity,
} from "./project-security";
import { declaredBy, declaredProvider } from "./declaration";

/** A project's security gate; every setting is managed, and left out it is off. */
export interface ProjectSecurityArgs {
  /** Scan each artifact when it is pushed (or, on a proxy-cache project, fetched). Default false. */
  autoScan?: pulumi.Input<boolean>;
  /**
   * Refuse pulls of artifacts with a vulnerability at or above this severity ("low", "medium",
   * "high", "critical", any case), after the allowlist; not scanned yet counts as vulnerable.
   * Default false: vulnerable pulls are let through.
   */
  preventVulnerable?: pulumi.Input<Severity | false>;
  /** With `preventVulnerable`: a scan made with a database older than the server's limit vouches for nothing. */
  preventStaleScan?: pulumi.Input<boolean>;
  /**
   * The project's own CVE allowlist: ids that never block a pull, until `expiresAt` (an ISO date
   * or time, or Unix seconds) if given. Default empty.
   */
  cveAllowlist?: pulumi.Input<{
    items: pulumi.Input<pulumi.Input<string>[]>;
    expiresAt?: pulumi.Input<string | number>;
  }>;
  /** Judge pulls by the system's allowlist (SystemCveAllowlist) instead of `cveAllowlist`. Default false. */
  reuseSystemCveAllowlist?: pulumi.Input<boolean>;
  /** Generate an SBOM for each pushed image, attached as an accessory. Default false. */
  autoSbom?: pulumi.Input<boolean>;
  /** Refuse pulls of artifacts without a cosign signature (Harbor's enable_content_trust_cosign). Default false. */
  requireSignature?: pulumi.Input<boolean>;
  /**
   * With `requireSignature`: only a signature by one of these PEM public keys (ECDSA P-256/P-384,
   * Ed25519, RSA) counts, verified offline. A list of PEMs, or one bundle. Default: any signature.
   */
  trustedKeys?: pulumi.Input<string | pulumi.Input<string>[]>;
}

export interface ProjectArgs extends ProjectSecurityArgs {
  /** The registry to manage (from RegistryServer/LocalRegistry outputs); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** Project name: lowercase letters and digits, with . _ - between them. */
  name: pulumi.Input<string>;
  /** Anonymous users may pull from a public project. Default false. */
  public?: pulumi.Input<boolean>;
  /**
   * Other Harbor project metadata (values as strings, as Harbor has them): enable_content_trust,
   * and a proxy project's proxy_speed_kb and max_upstream_conn. The security keys are inputs of
   * their own (autoScan…).
   */
  metadata?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Storage quota in bytes; -1 (default) for none. */
  storageLimit?: pulumi.Input<number>;
  /** Registry endpoint id for a proxy-cache project. */
  registryId?: pulumi.Input<number>;
  /** Take over a project that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
  /**
   * Delete the project's repositories when the resource is deleted. Default false: deleting a
   * project that still holds images fails, so nothing pushed is lost by accident. Proxy-cache
   * projects set it, their content being a disposable copy.
   */
  purgeOnDelete?: pulumi.Input<boolean>;
}

export interface ProjectInputs extends ProjectSecurity {
  connection: RegistryConnection;
  name: string;
  public: boolean;
  metadata: Record<string, string>;
  storageLimit: number;
  registryId?: number;
  adopt: boolean;
  purgeOnDelete: boolean;
}

export interface ProjectOutputs extends ProjectInputs {
  projectId: number;
}

const METADATA_KEYS = ["enable_content_trust", "proxy_speed_kb", "max_upstream_conn"];

/**
 * Validates the known inputs and normalises them as the registry keeps them. In a preview the
 * connection and a proxy project's `registryId` are unknown until the server and the endpoint
 * exist (see ../unknowns.ts): unknown values are passed on as they are and checked once known.
 */
export function checkProject(news: Record<string, unknown>): pulumi.dynamic.CheckResult<ProjectInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const name = news["name"];
  if (!isUnknown(name) && !isProjectName(name)) {
    failures.push({ property: "name", reason: `expected ${PROJECT_NAME_RULE}, got ${JSON.stringify(name)}` });
  }
  const given = news["metadata"] ?? {};
  const metadata = keepUnknown(given, (value) => {
    const normalised: Record<string, string> = {};
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      failures.push({ property: "metadata", reason: "expected an object of strings" });
      return normalised;
    }
    for (const [key, item] of Object.entries(value)) {
      if (key === "public") failures.push({ property: "metadata", reason: 'set "public" with the public input' });
      else if (SECURITY_METADATA_KEYS[key] !== undefined)
        failures.push({
          property: "metadata",
          reason: `set ${JSON.stringify(key)} with the ${SECURITY_METADATA_KEYS[key]} input`,
        });
      else if (!METADATA_KEYS.includes(key))
        failures.push({ property: "metadata", reason: `unknown project metadata key ${JSON.stringify(key)}` });
      // Harbor stores strings; booleans and numbers are normalised so that diffs stay quiet.
      else normalised[key] = keepUnknown(item, String);
    }
    return normalised;
  });
  const storageLimit = news["storageLimit"] ?? -1;
  if (
    !isUnknown(storageLimit) &&
    (typeof storageLimit !== "number" || !Number.isInteger(storageLimit) || storageLimit < -1)
  ) {
    failures.push({
      property: "storageLimit",
      reason: `expected -1 or a number of bytes, got ${JSON.stringify(storageLimit)}`,
    });
  }
  const registryId = news["registryId"];
  if (
    registryId !== undefined &&
    !isUnknown(registryId) &&
    (typeof registryId !== "number" || !Number.isInteger(registryId) || registryId < 1)
  ) {
    failures.push({
      property: "registryId",
      reason: `expected a registry endpoint id, got ${JSON.stringify(registryId)}`,
    });
  }
  const flag = (key: "public" | "adopt" | "purgeOnDelete"): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean")
        failures.push({ property: key, reason: `expected true or false, got ${JSON.stringify(value)}` });
      return value === true;
    });
  const security = checkProjectSecurity(news, (property, reason) => void failures.push({ property, reason }));
  const inputs: ProjectInputs = {
    connection: news["connection"] as RegistryConnection,
    name: keepUnknown(name, String),
    public: flag("public"),
    metadata,
    ...security,
    storageLimit: storageLimit as number,
    ...(registryId !== undefined && { registryId: registryId as number }),
    adopt: flag("adopt"),
    purgeOnDelete: flag("purgeOnDelete"),
  };
  return { inputs, failures };
}

function projectBody(inputs: ProjectInputs): Record<string, unknown> {
  return {
    project_name: inputs.name,
    metadata: { ...inputs.metadata, ...securityMetadata(inputs), public: String(inputs.public) },
    cve_allowlist: allowlistBody(inputs.cveAllowlist),
    storage_limit: inputs.storageLimit,
    ...(inputs.registryId !== undefined && { registry_id: inputs.registryId }),
  };
}

/** The project as the registry has it now, or undefined when it is gone. */
async function liveProject(
  connection: RegistryConnection,
  id: number,
): Promise<Omit<ProjectInputs, "connection" | "adopt" | "purgeOnDelete"> | undefined> {
  const reply = await apiRequest(connection, "GET", `/projects/${id}`);
  if (reply.status === 404) return undefined;
  expectStatus(reply, `reading project ${id}`, 200);
  const project = reply.body as {
    name: string;
    registry_id?: number;
    metadata?: Record<string, string>;
    cve_allowlist?: unknown;
  };
  const summary = expectStatus(
    await apiRequest(connection, "GET", `/projects/${id}/summary`),
    `reading project ${id}`,
    200,
  );
  const storage = (summary.body as { quota?: { hard?: { storage?: number } } }).quota?.hard?.storage ?? -1;
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(project.metadata ?? {}))
    if (METADATA_KEYS.includes(key)) metadata[key] = value;
  return {
    name: project.name,
    public: project.metadata?.["public"] === "true",
    metadata,
    storageLimit: storage,
    ...(project.registry_id !== undefined && { registryId: project.registry_id }),
    ...securityFromHarbor(project.metadata ?? {}, project.cve_allowlist),
  };
}

/**
 * Removes the trusted keys when none are declared: a PUT cannot, as the registry reads an empty
 * metadata value as "not given".
 */
async function clearTrustedKeys(connection: RegistryConnection, inputs: ProjectInputs, id: number): Promise<void> {
  if (inputs.trustedKeys.length > 0) return;
  const reply = await apiRequest(connection, "DELETE", `/projects/${id}/metadatas/${TRUSTED_KEYS_KEY}`);
  expectStatus(reply, `removing the trusted keys of project ${inputs.name}`, 200, 404);
}

/** Deletes every repository of a project (a proxy cache's disposable content). */
async function deleteRepositories(connection: RegistryConnection, project: string): Promise<void> {
  // Each round deletes the first page; bounded, in case repositories keep appearing.
  for (let round = 0; round < 1000; round++) {
    const reply = await apiRequest(
      connection,
      "GET",
      `/projects/${encodeURIComponent(project)}/repositories?page_size=100`,
    );
    if (reply.status === 404) return;
    const repositories = expectStatus(reply, `listing the repositories of ${project}`, 200).body as Array<{
      name: string;
    }>;
    if (repositories.length === 0) return;
    for (const repository of repositories) {
      const name = repository.name.slice(project.length + 1);
      const path = `/projects/${encodeURIComponent(project)}/repositories/${encodeURIComponent(encodeURIComponent(name))}`;
      expectStatus(await apiRequest(connection, "DELETE", path), `deleting ${repository.name}`, 200, 404);
    }
  }
  throw new Error(`deleting the repositories of ${project}: they keep coming`);
}

/** Sets the quota through the quotas API, as Harbor's project update ignores storage_limit. */
async function setStorageLimit(connection: RegistryConnection, projectId: number, storageLimit: number): Promise<void> {
  const quotas = expectStatus(
    await apiRequest(connection, "GET", `/quotas?reference=project&reference_id=${projectId}`),
    "reading the project quota",
    200,
  );
  const quota = (quotas.body as Array<{ id: number }>)[0];
  if (!quota) throw new Error(`project ${projectId} has no quota`);
  expectStatus(
    await apiRequest(connection, "PUT", `/quotas/${quota.id}`, { hard: { storage: storageLimit } }),
    "setting the project quota",
    200,
  );
}

export const projectProvider: pulumi.dynamic.ResourceProvider<ProjectInputs, ProjectOutputs> = {
  async check(_olds, news) {
    return checkProject(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = (["name", "registryId"] as const).filter((key) => olds[key] !== news[key]);
    const changed =
      replaces.length > 0 ||
      olds.public !== news.public ||
      (olds.purgeOnDelete ?? false) !== news.purgeOnDelete ||
      olds.storageLimit !== news.storageLimit ||
      JSON.stringify(olds.metadata) !== JSON.stringify(news.metadata) ||
      // State written before the security inputs existed has none: a change, written once.
      SECURITY_INPUTS.some((key) => stableJson(olds[key]) !== stableJson(news[key])) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes: changed, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const reply = await apiRequest(inputs.connection, "POST", "/projects", projectBody(inputs));
    let id: number;
    if (reply.status === 409 && inputs.adopt) {
      const existing = expectStatus(
        await apiRequest(inputs.connection, "GET", `/projects/${inputs.name}`),
        `adopting project ${inputs.name}`,
        200,
      );
      id = (existing.body as { project_id: number }).project_id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/projects/${id}`, projectBody(inputs)),
        `adopting project ${inputs.name}`,
        200,
      );
      await setStorageLimit(inputs.connection, id, inputs.storageLimit);
      await clearTrustedKeys(inputs.connection, inputs, id);
    } else {
      if (reply.status === 409) {
        expectStatus(reply, `creating project ${inputs.name} (it exists: set adopt to take it over)`, 201);
      }
      id = createdId(expectStatus(reply, `creating project ${inputs.name}`, 201), `creating project ${inputs.name}`);
    }
    return { id: String(id), outs: { ...inputs, projectId: id } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const live = await liveProject(props.connection, Number(id));
    // A project deleted by hand: an empty id tells the engine the resource is gone.
    if (!live) return { id: "", props };
    const inputs: ProjectInputs = {
      connection: props.connection,
      adopt: props.adopt,
      // State written before this input existed has none.
      purgeOnDelete: props.purgeOnDelete ?? false,
      ...live,
    };
    return { id, props: { ...inputs, projectId: Number(id) }, inputs: readInputs<ProjectOutputs>(inputs) };
  },

  async update(id, olds, news) {
    expectStatus(
      await apiRequest(news.connection, "PUT", `/projects/${id}`, projectBody(news)),
      `updating project ${news.name}`,
      200,
    );
    if (olds.storageLimit !== news.storageLimit) await setStorageLimit(news.connection, Number(id), news.storageLimit);
    await clearTrustedKeys(news.connection, news, Number(id));
    return { outs: { ...news, projectId: Number(id) } };
  },

  async delete(id, props) {
    if (props.purgeOnDelete) await deleteRepositories(props.connection, props.name);
    const reply = await apiRequest(props.connection, "DELETE", `/projects/${id}`);
    expectStatus(reply, `deleting project ${props.name}`, 200, 404);
  },
};

/** The provider, recording which stack declared the Project (./declaration.ts). */
export const declaredProjectProvider = declaredProvider("project", (outs) => outs.name, projectProvider);

/** A project of the registry. */
export class Project extends pulumi.dynamic.Resource {
  declare readonly projectId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: ProjectArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredProjectProvider,
      name,
      {
        declaration: declaredBy(name, "Project", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        projectId: undefined,
      },
      opts,
      "registry",
      "Project",
    );
  }
}
