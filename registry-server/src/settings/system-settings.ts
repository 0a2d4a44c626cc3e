// The registry's system settings: what an administrator changes at run time through Harbor's
// /api/v2.0/configurations, with Harbor's names, types and defaults. This module owns the list
// of keys the server has, checks values, and reads the current settings for the parts they
// steer (project creation, read-only mode, robot names and lifetimes, token lifetime, quotas,
// the audit log). The values live in the metadata store's settings area, so every replica of
// an installation reads the same ones.
//
// Reads are served from a copy at most CACHE_TTL_MS old: the read-only check runs on every write
// request and must not cost a database query each time. A change made on this process is seen
// here at once; one made on another worker process of the server too, once it is answered (its
// worker tells the others before answering, and they drop their copy: see onUpdate and
// invalidate); one made on another replica within CACHE_TTL_MS.

import type { SettingsMetadata } from "../metadata/settings-store.ts";
import { SingleFlight } from "../single-flight.ts";

/** How long a replica may act on settings another replica has changed since. */
export const CACHE_TTL_MS = 2_000;

/** Harbor's own limit on numbers typed into its configuration page: ten digits. */
const MAX_CONFIG_NUMBER = 9_999_999_999;

export type SettingType = "string" | "boolean" | "integer";
export type SettingValue = string | boolean | number;

interface SettingDefinition {
  readonly type: SettingType;
  /** False for settings this server fixes (only one authentication mode exists). */
  readonly editable: boolean;
  /** A reason the value is refused, or undefined when it is acceptable. */
  readonly check?: (value: never) => string | undefined;
}

function positive(value: number): string | undefined {
  if (value <= 0) return "must be positive";
  return value > MAX_CONFIG_NUMBER ? `must be at most ${MAX_CONFIG_NUMBER}` : undefined;
}

/** The audit log's event types (Harbor's `<operation>_<resource type>`), for the purge and the filter. */
export const AUDIT_EVENT_TYPES = [
  "create_artifact",
  "delete_artifact",
  "pull_artifact",
  "create_project",
  "delete_project",
  "update_project",
  "create_repository",
  "delete_repository",
  "update_repository",
  "create_tag",
  "delete_tag",
  "create_robot",
  "delete_robot",
  "update_robot",
  "create_user",
  "delete_user",
  "update_user",
  "create_project_member",
  "delete_project_member",
  "update_project_member",
  "create_registry",
  "delete_registry",
  "update_registry",
  "update_quota",
  "update_configure",
] as const;

/**
 * The settings this server has, by Harbor's key. Every one is stored and returned; those whose
 * effect arrives with a later part of the product (the portal's banner,
 * webhooks, scanning) are kept so that clients configuring them work and find them again.
 */
export const SETTINGS = {
  auth_mode: {
    type: "string",
    editable: false,
    check: (value: string) =>
      value === "db_auth" ? undefined : "only db_auth: the registry authenticates its own users and robots",
  },
  primary_auth_mode: {
    type: "boolean",
    editable: false,
    check: (value: boolean) => (value ? "only db_auth exists, so it is the only mode" : undefined),
  },
  self_registration: {
    type: "boolean",
    editable: false,
    check: (value: boolean) =>
      value ? "self-registration is not offered: the administrator creates users" : undefined,
  },
  project_creation_restriction: {
    type: "string",
    editable: true,
    check: (value: string) =>
      value === "everyone" || value === "adminonly" ? undefined : 'must be "everyone" or "adminonly"',
  },
  read_only: { type: "boolean", editable: true },
  /** Minutes a registry token (/service/token) is valid. */
  token_expiration: { type: "integer", editable: true, check: positive },
  /** Days a robot created with `duration: 0` lives. */
  robot_token_duration: { type: "integer", editable: true, check: positive },
  robot_name_prefix: {
    type: "string",
    editable: true,
    check: (value: string) =>
      /^[^\s:/]{1,64}$/.test(value) ? undefined : "1 to 64 characters, none of them a space, ':' or '/'",
  },
  quota_per_project_enable: { type: "boolean", editable: true },
  storage_per_project: {
    type: "integer",
    editable: true,
    check: (value: number) => (value === -1 || value >= 0 ? undefined : "must be -1 (no limit) or a number of bytes"),
  },
  audit_log_forward_endpoint: {
    type: "string",
    editable: true,
    check: (value: string) =>
      value === "" || /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(value)
        ? undefined
        : 'must be "host:port" (a syslog server over TCP) or ""',
  },
  skip_audit_log_database: { type: "boolean", editable: true },
  disabled_audit_log_event_types: {
    type: "string",
    editable: true,
    check: (value: string) => {
      const unknown = splitList(value).filter((type) => !(AUDIT_EVENT_TYPES as readonly string[]).includes(type));
      return unknown.length === 0 ? undefined : `unknown event types ${unknown.join(", ")}`;
    },
  },
  session_timeout: { type: "integer", editable: true, check: positive },
  banner_message: {
    type: "string",
    editable: true,
    check: (value: string) => (value.length <= 4096 ? undefined : "at most 4096 characters"),
  },
  notification_enable: { type: "boolean", editable: true },
  scanner_skip_update_pulltime: { type: "boolean", editable: true },
} as const satisfies Record<string, SettingDefinition>;

export type SettingKey = keyof typeof SETTINGS;

/** Harbor's configuration keys for authentication back ends this server does not have. */
const FOREIGN_AUTH_PREFIXES = ["ldap_", "oidc_", "uaa_", "http_authproxy_"] as const;

/** The typed view the rest of the server reads. */
export interface SystemSettings {
  readonly projectCreationRestriction: "everyone" | "adminonly";
  readonly readOnly: boolean;
  readonly tokenExpirationMinutes: number;
  readonly robotTokenDurationDays: number;
  readonly robotNamePrefix: string;
  readonly quotaPerProjectEnable: boolean;
  /** The quota of a project created without one: bytes, or -1 for none. */
  readonly storagePerProject: number;
  readonly auditLogForwardEndpoint: string;
  readonly skipAuditLogDatabase: boolean;
  readonly disabledAuditLogEventTypes: readonly string[];
  readonly bannerMessage: string;
  readonly notificationEnable: boolean;
  /** The portal's idle timeout: a session unused this long is over (auth/session-service.ts). */
  readonly sessionTimeoutMinutes: number;
}

/** Defaults that come from the server's own configuration rather than from Harbor's. */
export interface SettingDefaults {
  /** The registry token lifetime the server was configured with. */
  tokenExpirationMinutes: number;
}

function defaultsOf(base: SettingDefaults): Record<SettingKey, SettingValue> {
  return {
    auth_mode: "db_auth",
    primary_auth_mode: false,
    self_registration: false,
    project_creation_restriction: "everyone",
    read_only: false,
    token_expiration: base.tokenExpirationMinutes,
    robot_token_duration: 30,
    robot_name_prefix: "robot$",
    quota_per_project_enable: true,
    storage_per_project: -1,
    audit_log_forward_endpoint: "",
    skip_audit_log_database: false,
    disabled_audit_log_event_types: "",
    session_timeout: 60,
    banner_message: "",
    notification_enable: true,
    scanner_skip_update_pulltime: false,
  };
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A refused change, naming the key at fault. */
export class SettingError extends Error {
  override name = "SettingError";
  readonly key: string;

  constructor(key: string, reason: string) {
    super(`invalid ${key}: ${reason}`);
    this.key = key;
  }
}

function typeOf(value: unknown): SettingType | undefined {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number" && Number.isSafeInteger(value)) return "integer";
  return undefined;
}

/**
 * The changes a configurations update makes, checked: each known key's value must have the key's
 * type and pass its check; a key fixed by this server may only be sent with its current value;
 * keys of authentication back ends this server lacks are refused unless empty (clients send them
 * blank alongside db_auth); keys Harbor does not have are ignored, as Harbor's JSON decoding does.
 */
export function checkChanges(
  body: Readonly<Record<string, unknown>>,
  current: Readonly<Record<SettingKey, SettingValue>>,
): Partial<Record<SettingKey, SettingValue>> {
  const changes: Partial<Record<SettingKey, SettingValue>> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    if (!Object.hasOwn(SETTINGS, key)) {
      if (
        FOREIGN_AUTH_PREFIXES.some((prefix) => key.startsWith(prefix)) &&
        value !== "" &&
        value !== false &&
        value !== 0
      ) {
        throw new SettingError(
          key,
          "this registry has no LDAP, OIDC, UAA or HTTP auth proxy back end (auth_mode is db_auth)",
        );
      }
      continue;
    }
    const settingKey = key as SettingKey;
    const definition: SettingDefinition = SETTINGS[settingKey];
    if (typeOf(value) !== definition.type)
      throw new SettingError(key, `must be ${definitionTypeName(definition.type)}`);
    const typed = value as SettingValue;
    const reason = definition.check?.(typed as never);
    if (reason !== undefined) throw new SettingError(key, reason);
    if (!definition.editable && typed !== current[settingKey]) throw new SettingError(key, "cannot be changed");
    changes[settingKey] = typed;
  }
  const endpoint = changes.audit_log_forward_endpoint ?? current.audit_log_forward_endpoint;
  const skip = changes.skip_audit_log_database ?? current.skip_audit_log_database;
  if (
    skip === true &&
    endpoint === "" &&
    ("skip_audit_log_database" in changes || "audit_log_forward_endpoint" in changes)
  ) {
    throw new SettingError(
      "skip_audit_log_database",
      "the audit log forward endpoint must be configured before the database copy is skipped",
    );
  }
  return changes;
}

function definitionTypeName(type: SettingType): string {
  return type === "integer" ? "an integer" : type === "boolean" ? "a boolean" : "a string";
}

/** Reads and changes the settings, over the store, with the short cache described above. */
export class SettingsService {
  private readonly store: SettingsMetadata;
  private readonly defaults: Record<SettingKey, SettingValue>;
  private readonly now: () => number;
  private readonly loads = new SingleFlight<Record<SettingKey, SettingValue>>();
  private cached: { values: Record<SettingKey, SettingValue>; at: number } | undefined;
  /** Bumped by every change made here, so that a read begun before it cannot cache older values. */
  private generation = 0;
  private readonly updateListeners: Array<() => Promise<void>> = [];

  constructor(store: SettingsMetadata, base: SettingDefaults, now: () => number = Date.now) {
    this.store = store;
    this.defaults = defaultsOf(base);
    this.now = now;
  }

  /** Every setting with its value (stored, else default), by Harbor's key. */
  async values(): Promise<Record<SettingKey, SettingValue>> {
    const cached = this.cached;
    if (cached && this.now() - cached.at < CACHE_TTL_MS) return cached.values;
    const generation = this.generation;
    return this.loads.run(`values-${generation}`, async () => {
      const stored = await this.store.all();
      const values = { ...this.defaults };
      for (const key of Object.keys(SETTINGS) as SettingKey[]) {
        const value = stored[key];
        if (typeOf(value) === SETTINGS[key].type) values[key] = value as SettingValue;
      }
      if (generation === this.generation) this.cached = { values, at: this.now() };
      return values;
    }).promise;
  }

  async current(): Promise<SystemSettings> {
    const v = await this.values();
    return {
      projectCreationRestriction: v.project_creation_restriction === "adminonly" ? "adminonly" : "everyone",
      readOnly: v.read_only === true,
      tokenExpirationMinutes: Number(v.token_expiration),
      robotTokenDurationDays: Number(v.robot_token_duration),
      robotNamePrefix: String(v.robot_name_prefix),
      quotaPerProjectEnable: v.quota_per_project_enable === true,
      storagePerProject: Number(v.storage_per_project),
      auditLogForwardEndpoint: String(v.audit_log_forward_endpoint),
      skipAuditLogDatabase: v.skip_audit_log_database === true,
      disabledAuditLogEventTypes: splitList(String(v.disabled_audit_log_event_types)),
      bannerMessage: String(v.banner_message),
      notificationEnable: v.notification_enable === true,
      sessionTimeoutMinutes: Number(v.session_timeout),
    };
  }

  /**
   * Checks and stores a configurations update (see checkChanges); `verify` may refuse the checked
   * changes before they are stored (the audit endpoint must answer). Returns what changed.
   */
  async update(
    body: Readonly<Record<string, unknown>>,
    verify?: (changes: Partial<Record<SettingKey, SettingValue>>) => Promise<void>,
  ): Promise<Partial<Record<SettingKey, SettingValue>>> {
    const current = await this.fresh();
    const changes = checkChanges(body, current);
    await verify?.(changes);
    await this.store.put(changes, new Date(this.now()));
    this.invalidate();
    for (const listener of this.updateListeners) await listener();
    return changes;
  }

  /** Drops the copy: the next read goes to the store (another process changed the settings). */
  invalidate(): void {
    this.generation += 1;
    this.cached = undefined;
  }

  /** Runs `listener` after each update is stored, before update() resolves. */
  onUpdate(listener: () => Promise<void>): void {
    this.updateListeners.push(listener);
  }

  /** The values as stored now, bypassing the cache (for checks against another replica's change). */
  private async fresh(): Promise<Record<SettingKey, SettingValue>> {
    this.generation += 1;
    this.cached = undefined;
    return this.values();
  }
}
