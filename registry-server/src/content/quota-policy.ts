// Project storage quotas, enforced when a blob is added to a repository: inside the transaction
// that links it, so concurrent pushes cannot overrun the limit together. A blob the project
// already holds (in any of its repositories) adds nothing.

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

/** Throws DENIED when linking the blob would take the repository's project over its quota. */
export async function checkQuota(tx: MetadataAreas, repository: string, digest: string, size: number): Promise<void> {
  const name = repositoryProject(repository)?.project;
  if (name === undefined) return;
  const project = await tx.projects.getByName(name);
  if (!project || project.storageLimit < 0) return;
  const holders = await tx.blobs.repositoriesOf(digest);
  if (holders.some((holder) => holder.startsWith(`${name}/`))) return;
  const used = await tx.projects.storageUsed(name);
  if (used + size > project.storageLimit) {
    throw new RegistryError("DENIED", quotaExceededMessage(size, used, project.storageLimit));
  }
}
