// What a health check reports: one component of /api/v2.0/health (Harbor's shape). The parts that
// own a backend (the storage, the metadata store) build their checks; the system routes only run
// them, so the type lives below both.

export interface ComponentHealth {
  /** Harbor's component names: "core", "database", "storage"… */
  name: string;
  status: "healthy" | "unhealthy";
  /** Why it is unhealthy, in a few words: the endpoint is public, so no host, key or query. */
  error?: string;
  /**
   * Beyond Harbor (its clients ignore it), for a scanner's component: when its vulnerability
   * database was last updated, RFC 3339.
   */
  database_updated_at?: string;
}

export type HealthCheck = () => Promise<ComponentHealth>;
