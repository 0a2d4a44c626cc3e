// Harbor's unauthenticated system endpoints: `ping` for liveness and `health` for readiness,
// with Harbor's body shape. Health answers 503 when a component is unhealthy so that probes
// need not parse the body.

import type { ComponentHealth, HealthCheck } from "../health-check.ts";
import type { SystemSettings } from "../settings/system-settings.ts";
import { sendJson, sendText } from "../http/respond.ts";
import type { Router } from "../http/router.ts";

export interface SystemInfo {
  /** The registry's URL as configured (Harbor's `registry_url`), when known. */
  externalUrl?: string;
  version: string;
  storageProvider: string;
  /** The system settings systeminfo reports (read-only mode, who may create projects, the banner). */
  settings?: () => Promise<
    Pick<SystemSettings, "readOnly" | "projectCreationRestriction" | "bannerMessage" | "notificationEnable">
  >;
}

export function addSystemRoutes(router: Router, checks: HealthCheck[], info?: SystemInfo): void {
  // Harbor's general information, which clients read before logging in; no authentication.
  router.add("systeminfo", "GET", /^\/api\/v2\.0\/systeminfo$/, async ({ req, res }) => {
    const host = req.headers.host ?? "";
    const settings = await info?.settings?.();
    sendJson(res, 200, {
      current_time: new Date().toISOString(),
      registry_url: info?.externalUrl ? new URL(info.externalUrl).host : host,
      external_url: info?.externalUrl ?? "",
      auth_mode: "db_auth",
      primary_auth_mode: false,
      project_creation_restriction: settings?.projectCreationRestriction ?? "everyone",
      self_registration: false,
      has_ca_root: false,
      harbor_version: `airlock-${info?.version ?? "dev"}`,
      registry_storage_provider_name: info?.storageProvider ?? "filesystem",
      read_only: settings?.readOnly ?? false,
      notification_enable: settings?.notificationEnable ?? false,
      banner_message: settings?.bannerMessage ?? "",
    });
  });

  router.add("ping", "GET", /^\/api\/v2\.0\/ping$/, ({ res }) => sendText(res, 200, "Pong"));

  router.add("health", "GET", /^\/api\/v2\.0\/health$/, async ({ res }) => {
    const components = await componentHealth(checks);
    const healthy = components.every((c) => c.status === "healthy");
    sendJson(res, healthy ? 200 : 503, { status: healthy ? "healthy" : "unhealthy", components });
  });
}

/** Every component of the health report, in Harbor's order: core (this process answers), then the checks'. */
export async function componentHealth(checks: readonly HealthCheck[]): Promise<ComponentHealth[]> {
  return [{ name: "core", status: "healthy" }, ...(await Promise.all(checks.map((check) => check())))];
}
