// Harbor's unauthenticated system endpoints: `ping` for liveness and `health` for readiness,
// with Harbor's body shape. Health answers 503 when a component is unhealthy so that probes
// need not parse the body.

import { constants as fsConstants } from "node:fs";
import { access } from "node:fs/promises";
import { sendJson, sendText } from "../http/respond.ts";
import type { Router } from "../http/router.ts";

export interface ComponentHealth {
  name: string;
  status: "healthy" | "unhealthy";
  error?: string;
}

export type HealthCheck = () => Promise<ComponentHealth>;

/** The data directory must exist and be writable. */
export function storageHealthCheck(dataDir: string): HealthCheck {
  return async () => {
    try {
      await access(dataDir, fsConstants.W_OK);
      return { name: "storage", status: "healthy" };
    } catch (err) {
      return { name: "storage", status: "unhealthy", error: (err as NodeJS.ErrnoException).code ?? "unavailable" };
    }
  };
}

export function addSystemRoutes(router: Router, checks: HealthCheck[]): void {
  router.add("ping", "GET", /^\/api\/v2\.0\/ping$/, ({ res }) => sendText(res, 200, "Pong"));

  router.add("health", "GET", /^\/api\/v2\.0\/health$/, async ({ res }) => {
    const components: ComponentHealth[] = [
      { name: "core", status: "healthy" },
      ...(await Promise.all(checks.map((check) => check()))),
    ];
    const healthy = components.every((c) => c.status === "healthy");
    sendJson(res, healthy ? 200 : 503, { status: healthy ? "healthy" : "unhealthy", components });
  });
}
