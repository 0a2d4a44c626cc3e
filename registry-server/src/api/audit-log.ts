// Writes the audit log. Registry events (every pull!) are frequent, so entries are buffered and
// written in one transaction per flush (every second, and at shutdown) rather than one write per
// request. Entries name their project; the project id is resolved when they are written.
// The system settings decide at each flush what happens to them: event types an administrator
// disabled are dropped, entries go to the syslog endpoint when one is set, and to the database
// unless the administrator chose the endpoint alone (Harbor's skip_audit_log_database).
// While the database takes no writes for a passing reason (it is away, or its disk is full), the
// entries are kept and written at a later flush, MAX_KEPT at most: an outage loses no pull's entry,
// and an endless one cannot grow memory without bound.

import { SyslogForwarder } from "../audit/syslog-forwarder.ts";
import { unavailableDependency } from "../dependency-unavailable.ts";
import { insufficientStorage } from "../insufficient-storage.ts";
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
/** Entries kept for the database while it takes no writes; beyond, the oldest go. */
export const MAX_KEPT = 50_000;

type Entry = AuditEvent & { at: Date };

export class AuditLog {
  private readonly store: MetadataStore;
  private readonly settings: { current(): Promise<SystemSettings> };
  private readonly log: Logger;
  private pending: Entry[] = [];
  /** Entries already forwarded whose database write must be tried again, oldest first. */
  private unstored: Entry[] = [];
  /** Why entries are being kept, while they are (said once, not at every flush). */
  private keptBecause: string | undefined;
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

  /** Writes what is pending; resolves when it is in the store (or kept for a later flush). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const pending = this.pending;
      if (pending.length === 0 && this.unstored.length === 0) return;
      this.pending = [];
      let settings: SystemSettings;
      try {
        settings = await this.settings.current();
      } catch (err) {
        // Not forwarded yet: kept whole, as if not flushed.
        if (this.keep(err, pending.length)) this.pending = this.bounded([...pending, ...this.pending]);
        else this.log.error({ err, entries: pending.length }, "could not write audit entries");
        return;
      }
      const disabled = new Set(settings.disabledAuditLogEventTypes);
      const batch = pending.filter((event) => !disabled.has(eventType(event)));
      this.forward(batch, settings.auditLogForwardEndpoint);
      const toStore =
        settings.skipAuditLogDatabase && this.forwarder ? [...this.unstored] : [...this.unstored, ...batch];
      this.unstored = [];
      if (toStore.length === 0) return;
      try {
        await this.write(toStore);
        if (this.keptBecause !== undefined) {
          this.log.info({ entries: toStore.length }, "kept audit entries written: the database takes writes again");
          this.keptBecause = undefined;
        }
      } catch (err) {
        if (this.keep(err, toStore.length)) this.unstored = this.bounded(toStore);
        else this.log.error({ err, entries: toStore.length }, "could not write audit entries");
      }
    });
    return this.flushing;
  }

  private async write(entries: readonly Entry[]): Promise<void> {
    const projectIds = new Map<string, number | undefined>();
    for (const name of new Set(entries.flatMap((e) => (e.project ? [e.project] : [])))) {
      projectIds.set(name, (await this.store.projects.getByName(name))?.id);
    }
    await this.store.transaction(async (tx) => {
      for (const event of entries) {
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
  }

  /** Whether `err` is the database's passing refusal, entries then kept; says so once. */
  private keep(err: unknown, entries: number): boolean {
    const passing = unavailableDependency(err) ?? insufficientStorage(err);
    if (!passing) return false;
    if (this.keptBecause === undefined) {
      this.log.warn({ reason: passing.reason, entries }, "audit entries kept until the database takes writes again");
    }
    this.keptBecause = passing.reason;
    return true;
  }

  /** `entries` within MAX_KEPT, the oldest dropped (and said). */
  private bounded(entries: Entry[]): Entry[] {
    if (entries.length <= MAX_KEPT) return entries;
    const dropped = entries.length - MAX_KEPT;
    this.log.error(
      { dropped, reason: this.keptBecause },
      "audit entries dropped: the database took no writes for too long",
    );
    return entries.slice(dropped);
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
