// Scan on push (Harbor's project metadata `auto_scan`) and SBOM on push (`auto_sbom_generation`):
// told of each manifest stored (content/manifest-service.ts), it starts a scan of what a client
// pushed by tag (an index's scan covers its children) and of each image the proxy cache fetched
// (a proxy project scans on pull-through). Accessories (a manifest with a subject) are not
// scanned. It never holds up the push: the scan is queued after the commit, and a refusal (no
// scanner, nothing scannable, a scan already under way) is logged, not raised.

import { DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX } from "../content/media-types.ts";
import type { StoredManifestEvent } from "../content/manifest-service.ts";
import { HarborError } from "../http/errors.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScanService } from "./scan-service.ts";
import type { ScanType } from "./scanner-adapter.ts";

export class AutoScan {
  private readonly deps: {
    store: Pick<MetadataStore, "projects" | "artifacts">;
    scans: Pick<ScanService, "scan">;
    log: Logger;
  };
  /** Scans being queued, so that shutdown and tests can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(deps: AutoScan["deps"]) {
    this.deps = deps;
  }

  /** ManifestService's onStored. */
  readonly stored = (event: StoredManifestEvent): void => {
    if (event.record.subject !== undefined) return;
    const index = event.record.mediaType === OCI_IMAGE_INDEX || event.record.mediaType === DOCKER_MANIFEST_LIST;
    const wanted = event.source === "push" ? event.tags.length > 0 : !index;
    if (!wanted) return;
    const work = this.queue(event).catch((err: unknown) =>
      this.deps.log.warn(
        { err, repository: event.repository, digest: event.record.digest },
        "could not queue a scan on push",
      ),
    );
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  };

  /** Settles once the scans queued so far are. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async queue(event: StoredManifestEvent): Promise<void> {
    const projectName = event.repository.slice(0, event.repository.indexOf("/"));
    const project = await this.deps.store.projects.getByName(projectName);
    if (!project) return;
    const types: ScanType[] = [];
    if (project.metadata["auto_scan"] === "true") types.push("vulnerability");
    if (project.metadata["auto_sbom_generation"] === "true") types.push("sbom");
    if (types.length === 0) return;
    const artifact = await this.deps.store.artifacts.artifact(event.repository, event.record.digest);
    if (!artifact) return;
    const target = {
      projectId: project.id,
      artifactId: artifact.id,
      repository: event.repository,
      digest: artifact.digest,
      mediaType: artifact.mediaType,
      ...(event.tags[0] !== undefined && { tag: event.tags[0] }),
    };
    for (const type of types) {
      try {
        await this.deps.scans.scan(target, type, "EVENT");
      } catch (error) {
        if (!(error instanceof HarborError)) throw error;
        this.deps.log.info(
          { repository: event.repository, digest: artifact.digest, reason: error.message },
          `no ${type} scan on push`,
        );
      }
    }
  }
}
