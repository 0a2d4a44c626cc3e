// Harbor's registry endpoint as /registries returns it (the secret always "*****"), and the
// proxy cache's figures for one (our /registries/{id}/cache-stats).

export interface Endpoint {
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly url: string;
  readonly description?: string;
  readonly insecure?: boolean;
  readonly status?: string;
  readonly credential?: { readonly type?: string; readonly access_key?: string };
  readonly creation_time?: string;
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly hit_ratio: number;
  readonly bytes_served_from_cache: number;
  readonly stale_served: number;
  readonly upstream_errors: number;
  readonly since: string | null;
  readonly projects: ReadonlyArray<{ readonly project_id: number; readonly name: string }>;
}
