// A proxy-cache project: a project whose repositories are pulled through from an upstream
// registry endpoint (`registry_id`), with Harbor's proxy settings under names that say their
// unit. It is a project to the registry, managed by the same provider as `Project`; the
// endpoint cannot change in place (Harbor refuses it), so a new one replaces the project. The
// security gate is a project's (ProjectSecurityArgs): `autoScan` scans what the cache fetches.

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import { declaredBy } from "./declaration";
import { declaredProjectProvider, type ProjectSecurityArgs } from "./project";

export interface ProxyProjectArgs extends ProjectSecurityArgs {
  /** The registry to manage (from the deployment's outputs); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** Project name, the prefix clients pull with: `<name>/library/nginx:1.25`. */
  name: pulumi.Input<string>;
  /** The upstream: a RegistryEndpoint's `registryId`. */
  registryId: pulumi.Input<number>;
  /** Anonymous pulls (cluster nodes without credentials). Default false. */
  public?: pulumi.Input<boolean>;
  /** Bandwidth towards the upstream, kilobits per second; -1 (default) for no limit. */
  speedKbps?: pulumi.Input<number>;
  /** Concurrent upstream requests; -1 (default) for no limit. */
  maxUpstreamConnections?: pulumi.Input<number>;
  /** Storage quota of the cache in bytes; -1 (default) for none. */
  storageLimit?: pulumi.Input<number>;
  /** Take over a project that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

/** A proxy-cache project of the registry. */
export class ProxyProject extends pulumi.dynamic.Resource {
  declare readonly projectId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: ProxyProjectArgs, opts?: pulumi.CustomResourceOptions) {
    const limit = (value: pulumi.Input<number> | undefined): pulumi.Output<string> =>
      pulumi.output(value ?? -1).apply((v) => String(v));
    const { connection, name: projectName, registryId, speedKbps, maxUpstreamConnections, ...rest } = args;
    super(
      declaredProjectProvider,
      name,
      {
        declaration: declaredBy(name, "ProxyProject", opts),
        ...rest,
        connection: pulumi.secret(connection),
        name: projectName,
        registryId,
        public: args.public ?? false,
        storageLimit: args.storageLimit ?? -1,
        metadata: { proxy_speed_kb: limit(speedKbps), max_upstream_conn: limit(maxUpstreamConnections) },
        adopt: args.adopt ?? false,
        // The cache is a disposable copy of the upstream: destroy takes it with the project.
        purgeOnDelete: true,
        projectId: undefined,
      },
      opts,
      "registry",
      "ProxyProject",
    );
  }
}
