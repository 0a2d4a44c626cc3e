// Where an execution has put each blob on its destination: the repositories a later task may
// mount the blob from rather than send it again (a base layer shared by a hundred images crosses
// the wire once). It lives as long as one run of the execution; a run taken over starts a new
// one, and what the destination already holds is skipped anyway.

export class MountLedger {
  private readonly holders = new Map<string, Set<string>>();

  /** Records that `repository` on the destination holds the blob. */
  add(digest: string, repository: string): void {
    let repositories = this.holders.get(digest);
    if (!repositories) this.holders.set(digest, (repositories = new Set()));
    repositories.add(repository);
  }

  /** Repositories other than `repository` known to hold the blob, most recent last. */
  sources(digest: string, repository: string): string[] {
    return [...(this.holders.get(digest) ?? [])].filter((holder) => holder !== repository);
  }

  /** Whether the execution already put the blob in `repository`. */
  holds(digest: string, repository: string): boolean {
    return this.holders.get(digest)?.has(repository) ?? false;
  }
}
