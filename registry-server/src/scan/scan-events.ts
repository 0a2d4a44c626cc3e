// The end of a vulnerability scan told on the bus (Harbor's SCANNING_COMPLETED, SCANNING_FAILED and
// SCANNING_STOPPED, src/controller/event/handler/webhook/scan/scan.go), once per artifact scanned:
// stopped when any of its manifests' scans was stopped, failed when any failed, completed
// otherwise, with the artifact's scan overview as its reports now say (ScanService.overview). An
// SBOM scan tells nothing, and neither does an artifact deleted before its scan ended. The scan's
// caller is not recorded with it: the operator is "".

import type { EventPublisher } from "../events/registry-events.ts";
import type { ExecutionStatus } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ImageScanParameters, ScanTarget } from "./scan-service.ts";

export interface ScanEventDeps {
  readonly store: Pick<MetadataStore, "manifests" | "tags">;
  readonly events?: EventPublisher;
  /** The artifact's `scan_overview` (ScanService.overview with Harbor's default report types). */
  readonly overview?: (
    target: Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">,
  ) => Promise<Readonly<Record<string, unknown>> | undefined>;
}

/** Publishes the end of `parameters`' scan from the statuses its tasks ended with. */
export async function publishScanEnded(
  deps: ScanEventDeps,
  parameters: ImageScanParameters,
  executionId: number,
  ended: readonly ExecutionStatus[],
): Promise<void> {
  if (!deps.events || parameters.scan_type !== "vulnerability" || ended.length === 0) return;
  const type = ended.includes("Stopped")
    ? "SCANNING_STOPPED"
    : ended.includes("Error")
      ? "SCANNING_FAILED"
      : "SCANNING_COMPLETED";
  const { repository_name: repository, digest, project_id: projectId, tag } = parameters.artifact;
  const record = await deps.store.manifests.get(repository, digest);
  if (!record) return;
  const tags = tag !== undefined ? [tag] : (await deps.store.tags.forDigest(repository, digest)).slice(0, 1);
  const scanOverview = await deps.overview?.({ projectId, repository, digest, mediaType: record.mediaType });
  deps.events.publish({
    type,
    occurredAt: new Date(),
    operator: "",
    executionId,
    artifact: { repository, digest, mediaType: record.mediaType, size: record.size, tags },
    ...(scanOverview && { scanOverview }),
  });
}
