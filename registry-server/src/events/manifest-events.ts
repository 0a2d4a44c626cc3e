// Turns what the content layer reports (content/manifest-service.ts: a manifest stored or
// deleted, after its commit) into the bus's events. A push by a client, an air-gap import or a
// replication into this registry is a PUSH_ARTIFACT; what the proxy cache fetches is not (Harbor
// fires no push for a proxy project's pull-through). A deletion is a DELETE_ARTIFACT or, for a
// tag deleted alone, a DELETE_TAG.

import type { DeletedManifestEvent, StoredManifestEvent } from "../content/manifest-service.ts";
import type { ManifestRecord } from "../metadata/metadata-store.ts";
import type { EventArtifact, EventPublisher } from "./registry-events.ts";

export function eventArtifact(repository: string, record: ManifestRecord, tags: readonly string[]): EventArtifact {
  return { repository, digest: record.digest, mediaType: record.mediaType, size: record.size, tags: [...tags] };
}

/** ManifestService's onStored, publishing pushes. */
export function publishPushes(events: EventPublisher): (stored: StoredManifestEvent) => void {
  return (stored) => {
    if (stored.source !== "push") return;
    events.publish({
      type: "PUSH_ARTIFACT",
      occurredAt: new Date(),
      operator: stored.operator,
      artifact: eventArtifact(stored.repository, stored.record, stored.tags),
    });
  };
}

/** ManifestService's onDeleted, publishing deletions. */
export function publishDeletions(events: EventPublisher): (deleted: DeletedManifestEvent) => void {
  return ({ repository, result, operator }) => {
    const occurredAt = new Date();
    if (result.kind === "tag") {
      events.publish({ type: "DELETE_TAG", occurredAt, operator, repository, tag: result.tag, digest: result.digest });
    } else {
      events.publish({
        type: "DELETE_ARTIFACT",
        occurredAt,
        operator,
        artifact: eventArtifact(repository, result.record, result.tags),
      });
    }
  };
}
