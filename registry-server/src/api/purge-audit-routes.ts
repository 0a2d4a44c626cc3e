// Harbor's audit log purge API, /api/v2.0/system/purgeaudit: a system job (system-job-routes.ts)
// whose runs and schedules must say how old an entry must be (`audit_retention_hour`) and which
// entries go (`include_operations` or `include_event_types`), as Harbor's handler checks.

import { PURGE_AUDIT_VENDOR } from "../audit/audit-purge-job.ts";
import { HarborError } from "../http/errors.ts";
import type { Router } from "../http/router.ts";
import { addSystemJobRoutes, type SystemJob, type SystemJobRouteDeps } from "./system-job-routes.ts";

export const PURGE_AUDIT_JOB: SystemJob = {
  path: "purgeaudit",
  routeName: "purge_audit",
  vendorType: PURGE_AUDIT_VENDOR,
  resource: "purge-audit",
  notFound: (id) => `purge job with id ${id} not found`,
  parameters(body) {
    const parameters = body.parameters ?? {};
    if (!("audit_retention_hour" in parameters)) {
      throw new HarborError("BAD_REQUEST", "audit_retention_hour should provide");
    }
    if (!("include_operations" in parameters) && !("include_event_types" in parameters)) {
      throw new HarborError("BAD_REQUEST", "include_operations or include_event_types should provide");
    }
    return parameters;
  },
};

export function addPurgeAuditRoutes(router: Router, deps: SystemJobRouteDeps): void {
  addSystemJobRoutes(router, PURGE_AUDIT_JOB, deps);
}
