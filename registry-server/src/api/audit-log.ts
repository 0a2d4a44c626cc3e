// Writes the audit log. Registry events (every pull!) are frequent, so entries are buffered and
// written in one transaction per flush (every second, and at shutdown) rather than one write per
// request. Entries name their project; the project id is resolved when they are written.
// The system settings decide at each flush what happens to them: event types an administrator
// disabled are dropped, entries go to the syslog endpoint when one is set, and to the database
// unless the administrator chose the endpoint alone (Harbor's skip_audit_log_database).

import { SyslogForwarder } from "../audit/syslog-forwarder.ts";
import type { Logger } from "../logger.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { SystemSettings } from "../settings/system-settings.ts";

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

/** Harbor's event type of an entry: `create_artifact`, `pull_artifact`, `update_configure`… */
export function eventType(event: Pick<AuditEvent, "operation" | "resourceType">): string {
  return `${event.operation}_${event.resourceType}`;
}

const FLUSH_INTERVAL_MS = 1_000;
/** Beyond this many pending entries, a flush starts at once. */
const FLUSH_THRESHOLD = 1_000;

export class AuditLog {
  private readonly store: MetadataStore;
  private readonly settings: { current(): Promise<SystemSettings> };
  private readonly log: Logger;
  private pending: Array<AuditEvent & { at: Date }> = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private forwarder: SyslogForwarder | undefined;

  constructor(store: MetadataStore, settings: { current(): Promise<SystemSettings> }, log: Logger) {
    this.store = store;
    this.settings = settings;
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
      const pending = this.pending;
      if (pending.length === 0) return;
      this.pending = [];
      try {
        const settings = await this.settings.current();
        const disabled = new Set(settings.disabledAuditLogEventTypes);
        const batch = pending.filter((event) => !disabled.has(eventType(event)));
        this.forward(batch, settings.auditLogForwardEndpoint);
        if (settings.skipAuditLogDatabase && this.forwarder) return;
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
        this.log.error({ err, entries: pending.length }, "could not write audit entries");
      }
    });
    return this.flushing;
  }

  /** Sends the entries to the syslog endpoint, (re)connecting when the setting changed. */
  private forward(batch: ReadonlyArray<AuditEvent & { at: Date }>, endpoint: string): void {
    if (this.forwarder?.endpoint !== endpoint) {
      this.forwarder?.close();
      this.forwarder = endpoint === "" ? undefined : new SyslogForwarder(endpoint, this.log);
    }
    if (!this.forwarder) return;
    for (const event of batch) {
      this.forwarder.send(
        {
          operator: event.username,
          event_type: eventType(event),
          operation: event.operation,
          resource_type: event.resourceType,
          resource: event.resource,
          ...(event.project !== undefined && { project: event.project }),
          result: event.success,
          op_time: event.at.toISOString(),
        },
        event.at,
      );
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.forwarder?.close();
  }
}
