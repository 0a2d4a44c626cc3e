// The scanner registrations as the rest of the server uses them (Harbor's scanner controller):
// which scanner a project's scans go to, the ScannerAdapter that reaches it, the adapters'
// metadata for the API (cached briefly, as Harbor does), and the built-in scanners this server
// registers for itself at start-up.
//
// A registration whose URL is `builtin://<name>` is a scanner running inside this server: the
// composition root hands the map of those adapters in, keyed by URL. Any other registration is
// reached over HTTP (http-scanner-adapter.ts), its credential opened from the secret box only to
// build the client. Users cannot register a `builtin://` URL (the API takes http and https
// only), so a built-in scanner cannot be impersonated or pointed elsewhere.

import { randomUUID } from "node:crypto";
import type { SecretBox } from "../auth/secret-box.ts";
import { ConflictError } from "../metadata/identity-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { ScannerAuth, ScannerRegistrationRecord } from "../metadata/scanner-store.ts";
import type { EgressSettings } from "../upstream/upstream-registry.ts";
import { HttpScannerAdapter, ScannerAdapterError } from "./http-scanner-adapter.ts";
import type { ScannerAdapter, ScannerAdapterMetadata } from "./scanner-adapter.ts";
import type { ScannerChoice, ScannerResolver } from "./scan-service.ts";

/** The project metadata key holding the UUID of the project's scanner (Harbor's proScannerMetaKey). */
export const PROJECT_SCANNER_KEY = "projectScanner";
export const BUILTIN_SCHEME = "builtin:";
/** Additional authenticated data of sealed adapter credentials: they open for this use only. */
const CREDENTIAL_PURPOSE = "airlock scanner registration credential";
/** How long an adapter's metadata (or its failure to give it) is reused: Harbor's 30 s. */
const METADATA_CACHE_MS = 30_000;

export interface BuiltinScannerRegistration {
  readonly name: string;
  /** `builtin://<something>`: the key of its adapter in the built-in map. */
  readonly url: string;
  readonly description: string;
}

/** What reaching an adapter needs, stored or not (a ping of settings not yet saved). */
export interface ScannerConnection {
  readonly url: string;
  readonly auth: ScannerAuth;
  /** In clear. */
  readonly credential: string;
  readonly skipCertVerify: boolean;
}

export interface ScannerRegistryDeps {
  readonly store: Pick<MetadataStore, "scanners" | "projects" | "transaction">;
  readonly box: SecretBox;
  readonly egress: EgressSettings;
  /** The scanners running inside this server, by their `builtin://` URL. */
  readonly builtins?: ReadonlyMap<string, ScannerAdapter>;
  readonly now?: () => number;
}

export function isBuiltinUrl(url: string): boolean {
  return url.startsWith(`${BUILTIN_SCHEME}//`);
}

interface CachedMetadata {
  readonly stamp: string;
  readonly until: number;
  readonly result: { readonly metadata: ScannerAdapterMetadata } | { readonly error: Error };
}

export class ScannerRegistry implements ScannerResolver {
  private readonly deps: ScannerRegistryDeps;
  private readonly builtins: ReadonlyMap<string, ScannerAdapter>;
  private readonly now: () => number;
  /** One HTTP client per registration, rebuilt when the registration changes. */
  private readonly clients = new Map<string, { stamp: string; adapter: HttpScannerAdapter }>();
  private readonly metadataCache = new Map<string, CachedMetadata>();

  constructor(deps: ScannerRegistryDeps) {
    this.deps = deps;
    this.builtins = deps.builtins ?? new Map();
    this.now = deps.now ?? Date.now;
  }

  sealCredential(credential: string): string {
    return this.deps.box.seal(credential, CREDENTIAL_PURPOSE);
  }

  /** The registration's credential in clear ("" without one). */
  openCredential(registration: Pick<ScannerRegistrationRecord, "sealedCredential">): string {
    return registration.sealedCredential === undefined
      ? ""
      : this.deps.box.open(registration.sealedCredential, CREDENTIAL_PURPOSE);
  }

  /** Harbor's reserved name (its own Trivy, which a built-in scanner takes here): not for users. */
  isReservedName(name: string): boolean {
    return name === "Trivy";
  }

  /**
   * The registration a project's scans go to: the project's own choice when it still exists and
   * is enabled, else the system default when enabled; undefined when there is none.
   */
  async registrationFor(projectId: number): Promise<ScannerRegistrationRecord | undefined> {
    const choice = await this.projectChoice(projectId);
    if (choice === "no-project") return undefined;
    if (choice && !choice.disabled) return choice;
    const fallback = await this.deps.store.scanners.getDefault();
    return fallback && !fallback.disabled ? fallback : undefined;
  }

  /**
   * What `/projects/{p}/scanner` shows (Harbor's GetRegistrationByProject): the project's choice
   * when it still exists, else the default, disabled or not.
   */
  async projectRegistration(projectId: number): Promise<ScannerRegistrationRecord | undefined> {
    const choice = await this.projectChoice(projectId);
    if (choice === "no-project") return undefined;
    return choice ?? (await this.deps.store.scanners.getDefault());
  }

  /** The registration the project chose, when it chose one that still exists. */
  private async projectChoice(projectId: number): Promise<ScannerRegistrationRecord | undefined | "no-project"> {
    const project = await this.deps.store.projects.get(projectId);
    if (!project) return "no-project";
    const uuid = project.metadata[PROJECT_SCANNER_KEY];
    return uuid ? await this.deps.store.scanners.get(uuid) : undefined;
  }

  /**
   * The scan service's resolver (scan-service.ts's ScannerResolver on main): the project's
   * registration as `/projects/{p}/scanner` shows it, disabled or not (the scan service answers
   * Harbor's 412 for a disabled one), with its adapter.
   */
  async forProject(projectId: number): Promise<ScannerChoice | undefined> {
    const registration = await this.projectRegistration(projectId);
    return registration && this.choice(registration);
  }

  /** A registration by its UUID with its adapter (a scan's report read again later). */
  async byUuid(uuid: string): Promise<ScannerChoice | undefined> {
    const registration = await this.deps.store.scanners.get(uuid);
    return registration && this.choice(registration);
  }

  private choice(registration: ScannerRegistrationRecord): ScannerChoice {
    let adapter: ScannerAdapter;
    try {
      adapter = this.adapterFor(registration);
    } catch (err) {
      // A built-in scanner this server lacks: every call fails with the reason.
      const fail = (): Promise<never> => Promise.reject(err instanceof Error ? err : new Error(String(err)));
      adapter = { metadata: fail, scan: fail, report: fail };
    }
    return { registration, adapter };
  }

  /** The adapter that reaches the registration's scanner. */
  adapterFor(registration: ScannerRegistrationRecord): ScannerAdapter {
    if (isBuiltinUrl(registration.url)) {
      const builtin = this.builtins.get(registration.url);
      if (!builtin) {
        throw new ScannerAdapterError(
          "unreachable",
          `the built-in scanner ${registration.name} (${registration.url}) is not available in this server`,
        );
      }
      return builtin;
    }
    const stamp = `${registration.updatedAt.getTime()}`;
    const cached = this.clients.get(registration.uuid);
    if (cached?.stamp === stamp) return cached.adapter;
    const adapter = this.httpAdapter({
      url: registration.url,
      auth: registration.auth,
      credential: this.openCredential(registration),
      skipCertVerify: registration.skipCertVerify,
    });
    if (cached) void cached.adapter.close();
    this.clients.set(registration.uuid, { stamp, adapter });
    return adapter;
  }

  /** A client for settings that are not (yet) a registration; the caller closes it. */
  httpAdapter(connection: ScannerConnection, callTimeoutMs?: number): HttpScannerAdapter {
    return new HttpScannerAdapter({
      url: connection.url,
      auth: connection.auth,
      credential: connection.credential,
      skipCertVerify: connection.skipCertVerify,
      egress: this.deps.egress,
      ...(callTimeoutMs !== undefined && { callTimeoutMs }),
    });
  }

  /**
   * The adapter's metadata, reused for 30 s per registration and version of it, failures too (a
   * listing of several registrations must not wait on a dead adapter each time).
   */
  async metadataOf(registration: ScannerRegistrationRecord, signal?: AbortSignal): Promise<ScannerAdapterMetadata> {
    const stamp = `${registration.updatedAt.getTime()}`;
    const cached = this.metadataCache.get(registration.uuid);
    if (cached && cached.stamp === stamp && cached.until > this.now()) {
      if ("error" in cached.result) throw cached.result.error;
      return cached.result.metadata;
    }
    let result: CachedMetadata["result"];
    try {
      result = { metadata: await this.adapterFor(registration).metadata(signal) };
    } catch (err) {
      // The caller's own abort says nothing of the adapter.
      if (signal?.aborted) throw err;
      result = { error: err instanceof Error ? err : new Error(String(err)) };
    }
    this.metadataCache.set(registration.uuid, { stamp, until: this.now() + METADATA_CACHE_MS, result });
    if ("error" in result) throw result.error;
    return result.metadata;
  }

  /** Forgets what is cached of a registration (changed or deleted). */
  forget(uuid: string): void {
    this.metadataCache.delete(uuid);
    const cached = this.clients.get(uuid);
    this.clients.delete(uuid);
    if (cached) void cached.adapter.close();
  }

  /**
   * Registers a built-in scanner, once whatever the number of restarts and replicas: found by its
   * URL, its name and description brought up to date; made the default when no registration is
   * (in the same transaction as the check). A name taken by a user's registration is an error.
   */
  async ensureBuiltin(builtin: BuiltinScannerRegistration): Promise<ScannerRegistrationRecord> {
    if (!isBuiltinUrl(builtin.url)) throw new Error(`a built-in scanner's URL is builtin://…, not ${builtin.url}`);
    const at = new Date(this.now());
    // Two attempts: a replica that lost the race to insert finds the winner's row the second time.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.store.transaction(async (tx) => {
          let record = await tx.scanners.getByUrl(builtin.url);
          if (!record) {
            return await tx.scanners.create(
              {
                uuid: randomUUID(),
                name: builtin.name,
                description: builtin.description,
                url: builtin.url,
                disabled: false,
                auth: "",
                skipCertVerify: false,
                useInternalAddr: false,
                immutable: true,
              },
              "if-no-default",
              at,
            );
          }
          if (record.name !== builtin.name || record.description !== builtin.description) {
            record =
              (await tx.scanners.update(record.uuid, { name: builtin.name, description: builtin.description }, at)) ??
              record;
          }
          if (!record.isDefault && !record.disabled && !(await tx.scanners.getDefault())) {
            await tx.scanners.setDefault(record.uuid);
            record = (await tx.scanners.get(record.uuid)) ?? record;
          }
          return record;
        });
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 2) {
          if (err instanceof ConflictError) {
            throw new Error(`cannot register the built-in scanner ${builtin.name}: another registration has its name`, {
              cause: err,
            });
          }
          throw err;
        }
      }
    }
  }

  async close(): Promise<void> {
    const adapters = [...this.clients.values()].map((entry) => entry.adapter);
    this.clients.clear();
    await Promise.all(adapters.map((adapter) => adapter.close().catch(() => undefined)));
  }
}
