// Scan all (Harbor's SCAN_ALL execution, by hand through /system/scanAll/schedule or on its cron):
// every artifact of every repository that its project's scanner can scan, one task each, run one
// after the other so that a registry of thousands of images never floods the scanner. Artifacts
// whose reports are being written by another scan are skipped. A run taken over after a restart
// keeps the tasks it had ended and goes on from there; the repositories are walked in name order
// and each one's artifacts page by page, so memory stays bounded whatever the registry's size.

import { HarborError } from "../http/errors.ts";
import type { JobContext, JobHandler } from "../jobs/job-service.ts";
import type { ArtifactQuery } from "../metadata/artifact-store.ts";
import type { ProjectRecord } from "../metadata/identity-store.ts";
import type { TaskRecord } from "../metadata/job-store.ts";
import { publishScanEnded } from "./scan-events.ts";
import { scanManifest, type ScanJobDeps } from "./scan-job.ts";
import { SCAN_ALL_VENDOR, type ImageScanParameters, type ScanService } from "./scan-service.ts";

const REPOSITORY_PAGE = 200;
const ARTIFACT_PAGE = 100;
/** Artifacts one run looks at; far above a real registry's, it bounds a runaway walk. */
const MAX_ARTIFACTS = 1_000_000;
/** Harbor's listing (tagged, or in no index), in a stable order for paging. */
const BY_ID: ArtifactQuery = { sort: [{ key: "id", desc: false }] };

export interface ScanAllJobDeps extends ScanJobDeps {
  readonly service: Pick<ScanService, "scannerFor" | "scannable" | "placeholders">;
}

export function scanAllJob(deps: ScanAllJobDeps): JobHandler {
  return { vendorType: SCAN_ALL_VENDOR, keepExecutions: 20, run: (context) => runScanAll(deps, context) };
}

async function runScanAll(deps: ScanAllJobDeps, context: JobContext): Promise<Record<string, unknown>> {
  const { store } = deps;
  const previous = new Map((await context.tasks()).map((task) => [task.name, task]));
  const projects = new Map<string, ProjectRecord | undefined>();
  let seen = 0;
  let scanned = 0;
  let after: string | undefined;
  walk: for (;;) {
    const repositories = await store.repositories.list({
      ...(after !== undefined && { after }),
      limit: REPOSITORY_PAGE,
    });
    if (repositories.length === 0) break;
    after = repositories[repositories.length - 1];
    for (const repository of repositories) {
      const projectName = repository.slice(0, repository.indexOf("/"));
      if (!projects.has(projectName)) projects.set(projectName, await store.projects.getByName(projectName));
      const project = projects.get(projectName);
      if (!project) continue;
      for (let offset = 0; ; offset += ARTIFACT_PAGE) {
        context.signal.throwIfAborted();
        const page = await store.artifacts.artifacts(repository, BY_ID, { offset, limit: ARTIFACT_PAGE });
        for (const artifact of page.items) {
          if (++seen > MAX_ARTIFACTS) break walk;
          if (await scanOne(deps, context, previous, project, repository, artifact)) scanned++;
        }
        if (page.items.length < ARTIFACT_PAGE) break;
      }
    }
    context.report({ artifacts: seen, scanned });
  }
  return { artifacts: seen, scanned };
}

/** Scans one artifact as a task of the run; whether a scan was made. */
async function scanOne(
  deps: ScanAllJobDeps,
  context: JobContext,
  previous: ReadonlyMap<string, TaskRecord>,
  project: ProjectRecord,
  repository: string,
  artifact: { id: number; digest: string; mediaType: string },
): Promise<boolean> {
  const name = `${repository}@${artifact.digest}`;
  const earlier = previous.get(name);
  if (earlier && ["Success", "Error", "Stopped"].includes(earlier.status)) return false;
  const target = {
    projectId: project.id,
    artifactId: artifact.id,
    repository,
    digest: artifact.digest,
    mediaType: artifact.mediaType,
  };
  let choice;
  let manifests;
  try {
    choice = await deps.service.scannerFor(project.id);
    manifests = await deps.service.scannable(choice, target, "vulnerability");
  } catch (error) {
    if (error instanceof HarborError) return false; // No usable scanner for this project.
    throw error;
  }
  if (manifests.length === 0) return false;
  const executionId = context.execution.id;
  if (!earlier) {
    try {
      await deps.store.transaction((tx) => deps.service.placeholders(tx, choice, manifests, executionId, new Date()));
    } catch (error) {
      if (error instanceof HarborError && error.code === "CONFLICT") return false; // Another scan has it.
      throw error;
    }
  }
  const reports = await deps.store.scanReports.unfinished(executionId);
  const parameters: ImageScanParameters = {
    artifact: { id: artifact.id, project_id: project.id, repository_name: repository, digest: artifact.digest },
    registration: { uuid: choice.registration.uuid, name: choice.registration.name },
    scan_type: "vulnerability",
    manifests: manifests.map((m) => ({ digest: m.digest, media_type: m.mediaType })),
  };
  const task = earlier ?? (await context.addTasks([{ name, extraAttrs: { artifact_id: artifact.id } }]))[0];
  if (!task) return false;
  const ended = await context.runTask(task, async (taskContext) => {
    for (const manifest of parameters.manifests) {
      const own = reports.filter((r) => r.digest === manifest.digest);
      if (own.length > 0) await scanManifest(deps, parameters, manifest, own, taskContext);
    }
    return { artifact: name };
  });
  await publishScanEnded(deps, parameters, context.execution.id, [ended.status]);
  return ended.status === "Success";
}
