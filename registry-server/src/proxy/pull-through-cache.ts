// The proxy cache as the /v2 routes see it: a ContentSource that serves proxy-cache projects'
// repositories through their upstream and every other repository from the local content it
// wraps. Proxy-cache projects take no pushes.

import type { BlobPurpose, BlobSource, ContentSource } from "../content/content-source.ts";
import type { ManifestService, Reference, StoredManifest } from "../content/manifest-service.ts";
import { RegistryError } from "../http/errors.ts";
import type { PullThroughBlobs } from "./pull-through-blobs.ts";
import type { PullThroughManifests } from "./pull-through-manifests.ts";
import type { ProxyProjects } from "./proxy-projects.ts";

export class PullThroughCache implements ContentSource {
  private readonly local: ContentSource;
  private readonly projects: ProxyProjects;
  private readonly manifestService: ManifestService;
  private readonly manifests: PullThroughManifests;
  private readonly blobs: PullThroughBlobs;

  constructor(deps: {
    local: ContentSource;
    projects: ProxyProjects;
    manifestService: ManifestService;
    manifests: PullThroughManifests;
    blobs: PullThroughBlobs;
  }) {
    this.local = deps.local;
    this.projects = deps.projects;
    this.manifestService = deps.manifestService;
    this.manifests = deps.manifests;
    this.blobs = deps.blobs;
  }

  async manifest(repository: string, reference: Reference, accept: string | undefined): Promise<StoredManifest> {
    const target = await this.projects.target(repository);
    if (!target) return this.local.manifest(repository, reference, accept);
    const stored = await this.manifests.get(target, repository, reference);
    // An old client asking for one image of an index gets the linux/amd64 one, fetched if need be.
    return this.manifestService.negotiate(repository, stored, accept, (digest) =>
      this.manifests.byDigest(target, repository, digest),
    );
  }

  async blob(repository: string, digest: string, purpose: BlobPurpose): Promise<BlobSource | undefined> {
    const target = await this.projects.target(repository);
    if (!target) return this.local.blob(repository, digest, purpose);
    return this.blobs.get(target, repository, digest, purpose);
  }

  async assertWritable(repository: string): Promise<void> {
    if (await this.projects.isProxied(repository)) {
      throw new RegistryError(
        "DENIED",
        `${repository.slice(0, repository.indexOf("/"))} is a proxy-cache project: it takes no pushes`,
      );
    }
    await this.local.assertWritable(repository);
  }
}
