// One execution per policy at a time. The executions of a policy take turns in the order they
// were queued: an execution runs when no earlier one of its policy is still queued or running.
// Ordering by id (rather than "is another running?") lets two executions claimed at the same
// moment agree on which goes first, instead of both deferring, or both running.

import { FINAL_STATUSES, type ExecutionRecord, type JobMetadata } from "../metadata/job-store.ts";

const PAGE = 200;

/** The earliest execution of the same kind and vendor that has not ended, if it came before this one. */
export async function earlierExecution(
  jobs: Pick<JobMetadata, "listExecutions">,
  execution: ExecutionRecord,
): Promise<ExecutionRecord | undefined> {
  let earliest: ExecutionRecord | undefined;
  for (let offset = 0; ; offset += PAGE) {
    const page = await jobs.listExecutions(
      { vendorType: execution.vendorType, vendorId: execution.vendorId },
      { offset, limit: PAGE },
    );
    for (const other of page.items) {
      if (other.id < execution.id && !FINAL_STATUSES.has(other.status)) earliest = other;
    }
    if (page.items.length < PAGE || offset + PAGE >= page.total) return earliest;
  }
}
