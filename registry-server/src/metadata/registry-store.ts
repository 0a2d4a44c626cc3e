// The registries area of the metadata store: the upstream registry endpoints that proxy-cache
// projects (and later replication) point at, as Harbor's `/api/v2.0/registries` models them.
//
// The store keeps a credential's secret as the caller hands it over: already encrypted
// (upstream/secret-box.ts), because the secret must be sent upstream and so cannot be hashed,
// and a database dump must not reveal it. Ids are integers assigned by the store and never
// reused; names are unique (ConflictError otherwise). The contract suite in
// test/contracts/registry-store-contract.ts pins these semantics down.

import type { Listing, Window } from "./identity-store.ts";

/** A credential as stored: the secret sealed by the caller. */
export interface StoredCredential {
  /** Harbor's credential types: "basic" or "oauth". */
  readonly type: "basic" | "oauth";
  readonly accessKey: string;
  /** The secret, encrypted; opaque to the store. */
  readonly sealedSecret: string;
}

export interface RegistryRecord {
  readonly id: number;
  readonly name: string;
  /** Harbor's adapter type ("docker-hub", "docker-registry", …). */
  readonly type: string;
  readonly url: string;
  readonly description: string;
  readonly insecure: boolean;
  /** Absent for anonymous access. */
  readonly credential?: StoredCredential;
  /** PEM bundle trusted for this endpoint besides the system's CAs (our extension to Harbor). */
  readonly caCertificate?: string;
  /** "healthy", "unhealthy", or "unknown" before the first check. */
  readonly status: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewRegistry = Omit<RegistryRecord, "id" | "createdAt" | "updatedAt">;

/** Fields to change; `null` removes an optional one (the credential, the CA). */
export interface RegistryChanges {
  readonly name?: string;
  readonly type?: string;
  readonly url?: string;
  readonly description?: string;
  readonly insecure?: boolean;
  readonly credential?: StoredCredential | null;
  readonly caCertificate?: string | null;
  readonly status?: string;
}

export interface RegistryFilter {
  /** Exact name, or a substring when `fuzzy`. */
  readonly name?: { readonly value: string; readonly fuzzy: boolean };
  readonly type?: string;
  /** Exact URL, or a substring when `fuzzy`. */
  readonly url?: { readonly value: string; readonly fuzzy: boolean };
}

export interface RegistryMetadata {
  create(registry: NewRegistry, at: Date): Promise<RegistryRecord>;
  get(id: number): Promise<RegistryRecord | undefined>;
  getByName(name: string): Promise<RegistryRecord | undefined>;
  /** Ordered by id. */
  list(filter: RegistryFilter, window: Window): Promise<Listing<RegistryRecord>>;
  /** Applies the changes; undefined when there is no such registry; ConflictError on a taken name. */
  update(id: number, changes: RegistryChanges, at: Date): Promise<RegistryRecord | undefined>;
  /** Records a health check's outcome without touching `updatedAt` (not a user's change). */
  setStatus(id: number, status: string): Promise<void>;
  /** Deletes the endpoint; false when there was none. Callers check `projectsUsing` first. */
  delete(id: number): Promise<boolean>;
  /** Ids of the projects whose `registryId` is this endpoint, ascending. */
  projectsUsing(id: number): Promise<number[]>;
}
