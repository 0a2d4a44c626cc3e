// Writes the audit log. Registry events (every pull!) are frequent, so entries are buffered and
// written in one transaction per flush (every second, and at shutdown) rather than one write per
// request. Entries name their project; the project id is resolved when they are written.

import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";

export interface AuditEvent {
  username: string;
  resource: string;
  resourceType: string;
  operation: string;
  success: boolean;
  /** The project the event belongs to, by name. */
  project?: string;
  at?: Date;
}

const FLUSH_INTERVAL_MS = 1_000;
/** Beyond this many pending entries, a flush starts at once. */
const FLUSH_THRESHOLD = 1_000;

export class AuditLog {
  private readonly store: MetadataStore;
  private readonly log: Logger;
  private pending: Array<AuditEvent & { at: Date }> = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(store: MetadataStore, log: Logger) {
    this.store = store;
    this.log = log;
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(event: AuditEvent): void {
    this.pending.push({ ...event, at: event.at ?? new Date() });
    if (this.pending.length >= FLUSH_THRESHOLD) void this.flush();
  }

  /** Writes what is pending; resolves when it is in the store. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.pending;
      if (batch.length === 0) return;
      this.pending = [];
      try {
        const projectIds = new Map<string, number | undefined>();
        for (const name of new Set(batch.flatMap((e) => (e.project ? [e.project] : [])))) {
          projectIds.set(name, (await this.store.projects.getByName(name))?.id);
        }
        await this.store.transaction(async (tx) => {
          for (const event of batch) {
            const projectId = event.project === undefined ? undefined : projectIds.get(event.project);
            await tx.audit.append({
              username: event.username,
              resource: event.resource,
              resourceType: event.resourceType,
              operation: event.operation,
              success: event.success,
              ...(projectId !== undefined && { projectId }),
              opTime: event.at,
            });
          }
        });
      } catch (err) {
        this.log.error({ err, entries: batch.length }, "could not write audit entries");
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
