// Harbor's system configuration API: GET /api/v2.0/configurations answers every setting this
// server has as `{"<key>": {"value": …, "editable": …}}`; PUT takes a flat `{"<key>": value}` and
// changes those settings. Both are the system administrator's (or a system robot's holding the
// `configuration` permission), as in Harbor. Keys Harbor has and this server does not are ignored,
// unless they would configure an authentication back end that does not exist here.

import { z } from "zod";
import { HarborError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import {
  SETTINGS,
  SettingError,
  type SettingKey,
  type SettingValue,
  type SettingsService,
} from "../settings/system-settings.ts";
import type { AuditLog } from "./audit-log.ts";
import type { ApiAccess } from "./api-access.ts";
import { ok, readJson } from "./harbor-http.ts";

const CONFIGURATIONS = /^\/api\/v2\.0\/configurations\/?$/;
const bodySchema = z.record(z.string(), z.unknown()).nullable();

export interface ConfigurationRouteDeps {
  settings: SettingsService;
  access: ApiAccess;
  audit: AuditLog;
  /** Refuses (with the reason) an audit log forward endpoint that does not answer. */
  checkAuditEndpoint: (endpoint: string) => Promise<void>;
}

export function addConfigurationRoutes(router: Router, deps: ConfigurationRouteDeps): void {
  const { settings, access, audit } = deps;

  router.add("configuration_get", "GET", CONFIGURATIONS, async (ctx) => {
    await access.requireSystemAccess(ctx.req, "configuration", "read");
    const values = await settings.values();
    const body: Record<string, { value: SettingValue; editable: boolean }> = {};
    for (const key of Object.keys(SETTINGS) as SettingKey[]) {
      body[key] = { value: values[key], editable: SETTINGS[key].editable };
    }
    sendJson(ctx.res, 200, body);
  });

  router.add("configuration_update", "PUT", CONFIGURATIONS, async (ctx) => {
    const caller = await access.requireSystemAccess(ctx.req, "configuration", "update");
    const body = await readJson(ctx.req, bodySchema);
    if (body === null || Object.keys(body).length === 0) {
      throw new HarborError("BAD_REQUEST", "Missing configuration item");
    }
    let changed: Partial<Record<SettingKey, SettingValue>>;
    try {
      changed = await settings.update(body, async (changes) => {
        const endpoint = changes.audit_log_forward_endpoint;
        if (typeof endpoint === "string" && endpoint !== "") await deps.checkAuditEndpoint(endpoint);
      });
    } catch (error) {
      if (error instanceof SettingError) throw new HarborError("BAD_REQUEST", error.message);
      throw error;
    }
    if (Object.keys(changed).length > 0) {
      audit.record({
        username: caller.username,
        resource: Object.keys(changed).sort().join(","),
        resourceType: "configure",
        operation: "update",
        success: true,
      });
    }
    ok(ctx.res);
  });
}
