// Project storage quotas, enforced when a blob is added to a repository: inside the transaction
// that links it, so concurrent pushes cannot overrun the limit together. A blob the project
// already holds (in any of its repositories) adds nothing.
//
// Harbor's webhooks tell of a push refused for the quota (QUOTA_EXCEED) and of usage nearing it
// (QUOTA_WARNING). Harbor 2 defines the warning but its server never raises it; here it is raised
// when a blob takes the project's usage across QUOTA_WARNING_RATIO of its limit, the level Harbor's
// portal marks as warning (QUOTA_WARNING_COEFFICIENT = 0.7 in its shared.const.ts).

import { repositoryProject } from "../auth/access-scope.ts";
import { RegistryError } from "../http/errors.ts";
import type { MetadataAreas } from "../metadata/metadata-store.ts";

function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(2)} ${units[unit]}`;
}

/**
 * Harbor's words for a change that would take a project over its quota, so that scripts looking
 * for them keep working; pushes and imports both say it.
 */
export function quotaExceededMessage(adding: number, used: number, limit: number): string {
  return (
    `adding ${humanBytes(adding)} of storage resource, which when updated to current usage of ${humanBytes(used)} ` +
    `will exceed the configured upper limit of ${humanBytes(limit)}.`
  );
}

/** The share of a project's limit past which a push raises QUOTA_WARNING. */
export const QUOTA_WARNING_RATIO = 0.7;

/** A blob counted against its project's quota: what it adds to what was used, under which limit. */
export interface QuotaUse {
  readonly project: string;
  readonly adding: number;
  readonly used: number;
  readonly limit: number;
}

/** A push refused for the project's quota: DENIED with Harbor's words, and the figures. */
export class QuotaExceededError extends RegistryError {
  readonly use: QuotaUse;

  constructor(use: QuotaUse) {
    super("DENIED", quotaExceededMessage(use.adding, use.used, use.limit));
    this.use = use;
  }
}

/**
 * Throws QuotaExceededError when linking the blob would take the repository's project over its
 * quota; else what the blob adds to the project (undefined when nothing is counted: no quota, or
 * a blob the project holds already).
 */
export async function checkQuota(
  tx: MetadataAreas,
  repository: string,
  digest: string,
  size: number,
): Promise<QuotaUse | undefined> {
  const name = repositoryProject(repository)?.project;
  if (name === undefined) return undefined;
  const project = await tx.projects.getByName(name);
  if (!project || project.storageLimit < 0) return undefined;
  const holders = await tx.blobs.repositoriesOf(digest);
  if (holders.some((holder) => holder.startsWith(`${name}/`))) return undefined;
  const used = await tx.projects.storageUsed(name);
  const use = { project: name, adding: size, used, limit: project.storageLimit };
  if (used + size > project.storageLimit) throw new QuotaExceededError(use);
  return use;
}

/** Whether the blob took its project's usage across the warning level. */
export function crossesWarning(use: QuotaUse): boolean {
  const level = use.limit * QUOTA_WARNING_RATIO;
  return use.limit > 0 && use.used < level && use.used + use.adding >= level;
}

/** What a QUOTA_WARNING says, in the words of Harbor's exceeded message. */
export function quotaWarningMessage(use: QuotaUse): string {
  return (
    `adding ${humanBytes(use.adding)} of storage resource brings the current usage to ${humanBytes(use.used + use.adding)}, ` +
    `past ${Math.round(QUOTA_WARNING_RATIO * 100)}% of the configured upper limit of ${humanBytes(use.limit)}.`
  );
}
