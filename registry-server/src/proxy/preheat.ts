// Preheat: pulls a list of images into a proxy-cache project ahead of time, so that the first pull
// by a cluster node is a cache hit and an upstream outage the next day costs nothing. Each image
// is fetched as a client would pull it (the manifest by tag, every platform of an index or the
// ones asked for, then every config and layer), with retries; a job reports progress per image
// and ends with a summary of what was fetched, what was already there and what failed.
//
// A preheat is a job of the job system: it runs once whichever worker or replica took the
// request, its progress is saved as it goes (every worker reads the same), a worker that stops
// hands it to another, and the last ones of each project are kept for their status to be read.

import type { LifecycleMetadata } from "../metadata/lifecycle-store.ts";
import { setTimeout as sleep } from "node:timers/promises";
import type { Reference } from "../content/manifest-service.ts";
import { parseReference } from "../content/manifest-service.ts";
import { parseManifest, type Descriptor } from "../content/manifest-parser.ts";
import { isValidRepositoryName } from "../content/names.ts";
import { RegistryError } from "../http/errors.ts";
import type { JobContext, JobHandler, JobService } from "../jobs/job-service.ts";
import type { Logger } from "../logger.ts";
import type { ExecutionRecord, JobMetadata } from "../metadata/job-store.ts";
import type { ProxyProjects, ProxyTarget } from "./proxy-projects.ts";
import type { PullThroughBlobs } from "./pull-through-blobs.ts";
import type { PullThroughManifests } from "./pull-through-manifests.ts";

export interface PreheatRequest {
  /** Upstream names: `library/nginx:1.25`, `prometheus/prometheus@sha256:…` (tag `latest` if none). */
  readonly images: readonly string[];
  /** `os/architecture[/variant]` of an index to fetch; all of them when empty. */
  readonly platforms: readonly string[];
}

export type PreheatItemStatus = "pending" | "running" | "fetched" | "present" | "failed";

export interface PreheatItem {
  readonly image: string;
  status: PreheatItemStatus;
  /** The digest the reference resolved to. */
  digest?: string;
  /** Manifests and blobs the image is made of (for the platforms asked). */
  manifests: number;
  blobs: number;
  /** Bytes fetched from the upstream for this image (not those already cached). */
  bytesFetched: number;
  attempts: number;
  error?: string;
}

export interface PreheatJob {
  /** The id of the job's execution. */
  readonly id: number;
  readonly project: string;
  readonly status: "running" | "succeeded" | "partial" | "failed" | "stopped";
  readonly items: readonly PreheatItem[];
  readonly createdAt: Date;
  readonly finishedAt?: Date;
}

export interface PreheatOptions {
  /** Images fetched at once. */
  readonly concurrency: number;
  /** Attempts per image before it is reported failed. */
  readonly attempts: number;
  /** First wait between attempts; doubled each time. */
  readonly retryDelayMs: number;
}

const DEFAULTS: PreheatOptions = { concurrency: 2, attempts: 3, retryDelayMs: 1000 };

export const PREHEAT_VENDOR = "PREHEAT";
/** Ended jobs kept per project for their status to be read. */
const KEEP_JOBS = 20;

/** Splits `name[:tag|@digest]` and validates both parts, with the message a user can act on. */
export function parseImage(image: string): { repository: string; reference: Reference } {
  const at = image.indexOf("@");
  let name = image;
  let reference = "latest";
  if (at >= 0) {
    name = image.slice(0, at);
    reference = image.slice(at + 1);
  } else {
    const colon = image.lastIndexOf(":");
    if (colon > image.lastIndexOf("/")) {
      name = image.slice(0, colon);
      reference = image.slice(colon + 1);
    }
  }
  const first = name.split("/")[0] ?? "";
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    throw new RegistryError(
      "NAME_INVALID",
      `${image}: give the name as the upstream knows it, without a registry host (${first})`,
    );
  }
  if (!isValidRepositoryName(name)) throw new RegistryError("NAME_INVALID", `${image}: invalid repository name`);
  return { repository: name, reference: parseReference(reference) };
}

/** Starts preheat jobs and reads them, for the API; the job system runs them (PreheatFetcher). */
export class Preheater {
  private readonly jobs: Pick<JobService, "enqueue">;
  private readonly store: Pick<JobMetadata, "getExecution" | "listExecutions">;

  constructor(deps: {
    jobs: Pick<JobService, "enqueue">;
    store: Pick<JobMetadata, "getExecution" | "listExecutions">;
  }) {
    this.jobs = deps.jobs;
    this.store = deps.store;
  }

  /** Queues a job; images that cannot be parsed are refused (RegistryError) before anything runs. */
  async start(project: { id: number; name: string }, request: PreheatRequest): Promise<PreheatJob> {
    for (const image of request.images) parseImage(image);
    const execution = await this.jobs.enqueue(
      PREHEAT_VENDOR,
      { project: project.name, images: [...request.images], platforms: [...request.platforms] },
      "MANUAL",
      project.id,
    );
    return preheatJob(execution);
  }

  async get(project: { id: number }, id: number): Promise<PreheatJob | undefined> {
    const execution = await this.store.getExecution(id);
    if (!execution || execution.vendorType !== PREHEAT_VENDOR || execution.vendorId !== project.id) return undefined;
    return preheatJob(execution);
  }

  /** The project's jobs, newest first. */
  async list(project: { id: number }): Promise<PreheatJob[]> {
    const listing = await this.store.listExecutions(
      { vendorType: PREHEAT_VENDOR, vendorId: project.id },
      { offset: 0, limit: KEEP_JOBS * 2 },
    );
    return listing.items.map(preheatJob);
  }
}

/** A preheat job as its execution holds it: progress in `extraAttrs.items`. */
export function preheatJob(execution: ExecutionRecord): PreheatJob {
  const images = (execution.parameters["images"] as string[] | undefined) ?? [];
  const saved = execution.extraAttrs["items"] as PreheatItem[] | undefined;
  const items = saved ?? images.map(pendingItem);
  const result = execution.extraAttrs["result"] as PreheatJob["status"] | undefined;
  const status: PreheatJob["status"] =
    execution.status === "Pending" || execution.status === "Running"
      ? "running"
      : execution.status === "Stopped"
        ? "stopped"
        : execution.status === "Error"
          ? "failed"
          : (result ?? "succeeded");
  return {
    id: execution.id,
    project: typeof execution.parameters["project"] === "string" ? execution.parameters["project"] : "",
    status,
    items,
    createdAt: execution.createdAt,
    ...(execution.endedAt && { finishedAt: execution.endedAt }),
  };
}

function pendingItem(image: string): PreheatItem {
  return { image, status: "pending", manifests: 0, blobs: 0, bytesFetched: 0, attempts: 0 };
}

/** Runs preheat jobs: fetches each image into the proxy-cache project through the proxy's parts. */
export class PreheatFetcher {
  private readonly projects: ProxyProjects;
  private readonly manifests: PullThroughManifests;
  private readonly blobs: PullThroughBlobs;
  private readonly log: Logger;
  private readonly pins: Pick<LifecycleMetadata, "pin"> | undefined;
  private readonly options: PreheatOptions;

  constructor(
    deps: {
      projects: ProxyProjects;
      manifests: PullThroughManifests;
      blobs: PullThroughBlobs;
      log: Logger;
      /** Pins what a preheat fetched: retention and expiry then leave it (it must outlive an outage). */
      pins?: Pick<LifecycleMetadata, "pin">;
    },
    options: Partial<PreheatOptions> = {},
  ) {
    this.projects = deps.projects;
    this.manifests = deps.manifests;
    this.blobs = deps.blobs;
    this.log = deps.log;
    this.pins = deps.pins;
    this.options = { ...DEFAULTS, ...options };
  }

  job(): JobHandler {
    return { vendorType: PREHEAT_VENDOR, keepExecutions: KEEP_JOBS, run: (context) => this.run(context) };
  }

  private async run(context: JobContext): Promise<Record<string, unknown>> {
    const given = context.execution.parameters["project"];
    const project = typeof given === "string" ? given : "";
    const requested = (context.execution.parameters["images"] as string[] | undefined) ?? [];
    const platforms = (context.execution.parameters["platforms"] as string[] | undefined) ?? [];
    const images = requested.map((image) => ({ image, ...parseImage(image) }));
    const items = images.map(({ image }) => pendingItem(image));
    const report = (): void => context.report({ items });
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < images.length && !context.signal.aborted; index = next++) {
        const item = items[index];
        const image = images[index];
        if (!item || !image) continue;
        item.status = "running";
        report();
        await this.fetchWithRetries(project, item, image, platforms, context.signal);
        context.log(`[INFO] ${item.image}: ${item.status}${item.error ? ` (${item.error})` : ""}`);
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, images.length) }, worker));
    // Stopped or handed back: the job system records it; the items say how far it went.
    if (context.signal.aborted) throw context.signal.reason ?? new Error("stopped");
    const failed = items.filter((i) => i.status === "failed").length;
    const result = failed === 0 ? "succeeded" : failed === items.length ? "failed" : "partial";
    this.log.info(
      {
        job: context.execution.id,
        project,
        status: result,
        fetched: items.filter((i) => i.status === "fetched").length,
        present: items.filter((i) => i.status === "present").length,
        failed,
      },
      "preheat finished",
    );
    return { items, result };
  }

  private async fetchWithRetries(
    project: string,
    item: PreheatItem,
    image: { repository: string; reference: Reference },
    platforms: readonly string[],
    signal: AbortSignal,
  ): Promise<void> {
    for (let attempt = 1; attempt <= this.options.attempts && !signal.aborted; attempt++) {
      item.attempts = attempt;
      try {
        const target = await this.projects.target(`${project}/${image.repository}`);
        if (!target) throw new RegistryError("DENIED", `${project} is not a proxy-cache project`);
        await this.fetchImage(target, `${project}/${image.repository}`, image.reference, platforms, item);
        if (item.digest !== undefined) {
          await this.pins?.pin(
            { repository: `${project}/${image.repository}`, digest: item.digest },
            "preheat",
            new Date(),
          );
        }
        item.status = item.bytesFetched > 0 ? "fetched" : "present";
        delete item.error;
        return;
      } catch (err) {
        item.error = (err as Error).message;
        // What the upstream says does not exist will not appear by asking again.
        const final =
          err instanceof RegistryError &&
          ["MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_INVALID", "DENIED"].includes(err.code);
        this.log.warn({ project, image: item.image, attempt, error: item.error }, "preheat attempt failed");
        if (final || attempt === this.options.attempts) break;
        await sleep(this.options.retryDelayMs * 2 ** (attempt - 1), undefined, { signal }).catch(() => undefined);
      }
    }
    item.status = "failed";
  }

  /** Pulls an image as a client would: its manifest(s), then every blob, into the cache. */
  private async fetchImage(
    target: ProxyTarget,
    repository: string,
    reference: Reference,
    platforms: readonly string[],
    item: PreheatItem,
  ): Promise<void> {
    const top = await this.manifests.get(target, repository, reference);
    item.digest = top.record.digest;
    item.manifests = 1;
    item.blobs = 0;
    const parsed = parseManifest(top.content, top.record.mediaType);
    const images = [];
    if (parsed.kind === "index") {
      for (const child of parsed.children) {
        if (!wantedPlatform(child, platforms)) continue;
        const digest = parseReference(child.digest);
        if (digest.kind !== "digest") continue;
        const stored = await this.manifests.byDigest(target, repository, digest.digest);
        item.manifests++;
        images.push(parseManifest(stored.content, stored.record.mediaType));
      }
    } else {
      images.push(parsed);
    }
    for (const manifest of images) {
      for (const blob of manifest.blobs) {
        if (blob.urls && blob.urls.length > 0) continue; // foreign layers are not ours to fetch
        const cached = await this.blobs.isCached(repository, blob.digest);
        await this.blobs.get(target, repository, blob.digest, "head");
        item.blobs++;
        if (!cached) item.bytesFetched += blob.size;
      }
    }
  }
}

function wantedPlatform(child: Descriptor, platforms: readonly string[]): boolean {
  if (platforms.length === 0) return true;
  const platform = child.platform;
  if (!platform) return false;
  const name = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
  return platforms.some((wanted) => wanted === name || wanted === `${platform.os}/${platform.architecture}`);
}
