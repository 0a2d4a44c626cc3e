// The SQLite metadata store's schema: versioned steps, applied in order when the store opens, the
// number applied kept in `PRAGMA user_version`. Times are integers (ms since the epoch), JSON
// columns hold text, booleans are 0 or 1. postgres/schema.ts holds the same tables in
// PostgreSQL's types; the shared row layer (rows/) reads either.
//
// Append new steps, never edit a released one: a database migrated by an older server must come
// out the same as a new one (test/metadata/schema-steps.test.ts pins the released steps' text).

import type { DatabaseSync } from "node:sqlite";

/** Repositories, blobs and their links, uploads, manifests with their bytes and references, tags. */
const CONTENT_STEP = `
  CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    parts TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE repository_blobs (
    repository TEXT NOT NULL REFERENCES repositories (name),
    digest TEXT NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
    PRIMARY KEY (repository, digest)
  ) STRICT, WITHOUT ROWID;
  -- repositoriesOf, and the cascade when a blob is deleted.
  CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest, repository);

  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    repository TEXT NOT NULL REFERENCES repositories (name),
    algorithm TEXT NOT NULL,
    size INTEGER NOT NULL,
    parts TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX uploads_by_updated_at ON uploads (updated_at);

  -- A manifest's bytes, shared by every repository holding that digest.
  CREATE TABLE manifest_contents (
    digest TEXT PRIMARY KEY,
    content BLOB NOT NULL
  ) STRICT;

  CREATE TABLE manifests (
    repository TEXT NOT NULL REFERENCES repositories (name),
    digest TEXT NOT NULL REFERENCES manifest_contents (digest),
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    annotations TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository, digest)
  ) STRICT;
  CREATE INDEX manifests_by_subject ON manifests (repository, subject, artifact_type);
  -- Whether any repository still holds a digest's bytes.
  CREATE INDEX manifests_by_digest ON manifests (digest);

  CREATE TABLE manifest_blob_refs (
    repository TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    PRIMARY KEY (repository, manifest_digest, blob_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX manifest_blob_refs_by_blob ON manifest_blob_refs (blob_digest);

  CREATE TABLE manifest_child_refs (
    repository TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    child_digest TEXT NOT NULL,
    PRIMARY KEY (repository, manifest_digest, child_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX manifest_child_refs_by_child ON manifest_child_refs (repository, child_digest);

  -- Deleting a manifest deletes its tags through the cascade, in the same statement.
  CREATE TABLE tags (
    repository TEXT NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX tags_by_digest ON tags (repository, digest, name);
  `;

/**
 * Users, projects, members, robots, the audit log. AUTOINCREMENT: an id is never reused, so a
 * reference left to a deleted user or project (a project's owner, an audit entry) cannot come to
 * mean a new one.
 */
const IDENTITY_STEP = `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    realname TEXT NOT NULL,
    comment TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    sysadmin INTEGER NOT NULL CHECK (sysadmin IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  -- Any number of users without an email; an email belongs to one user.
  CREATE UNIQUE INDEX users_by_email ON users (email) WHERE email <> '';

  CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL,
    metadata TEXT NOT NULL CHECK (json_valid(metadata)),
    storage_limit INTEGER NOT NULL,
    registry_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE project_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL CHECK (role_id BETWEEN 1 AND 5),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (project_id, user_id)
  ) STRICT;
  -- A user's projects, and the cascade when a user is deleted.
  CREATE INDEX project_members_by_user ON project_members (user_id);

  CREATE TABLE robots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('system', 'project')),
    project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    duration INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    secret_hash TEXT NOT NULL,
    permissions TEXT NOT NULL CHECK (json_valid(permissions)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX robots_by_project ON robots (project_id);

  -- No foreign key to projects: the log outlives them.
  CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    operation TEXT NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    project_id INTEGER,
    op_time INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX audit_logs_by_project ON audit_logs (project_id, op_time);
  CREATE INDEX audit_logs_by_time ON audit_logs (op_time);
  `;

/** Upstream registry endpoints. */
const REGISTRIES_STEP = `
  -- Upstream endpoints. AUTOINCREMENT: a project's registry_id must never come to mean another.
  CREATE TABLE registries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    insecure INTEGER NOT NULL CHECK (insecure IN (0, 1)),
    credential_type TEXT,
    access_key TEXT,
    sealed_secret TEXT,
    ca_certificate TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((credential_type IS NULL) = (access_key IS NULL) AND (access_key IS NULL) = (sealed_secret IS NULL))
  ) STRICT;
  -- Deleting an endpoint asks which projects still use it.
  CREATE INDEX projects_by_registry ON projects (registry_id) WHERE registry_id IS NOT NULL;
`;

/**
 * Ids for repositories, manifests and tags; repository descriptions. SQLite cannot add an
 * AUTOINCREMENT column to a table, so each table is rebuilt by SQLite's own procedure
 * (https://www.sqlite.org/lang_altertable.html#otheralter): create the new table, copy the rows,
 * drop the old one, rename the new one, recreate the indexes. The migration runner turns foreign
 * keys off around it and checks them before committing. Existing rows are numbered in the order
 * they were created. `config_media_type` (an image manifest's config media type, the artifact
 * media type Harbor reports) is read from the manifests' own bytes for the rows already there.
 */
export const ARTIFACT_IDS_STEP = `
  CREATE TABLE new_repositories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    -- NULL until the repository's record changes: the creation time stands for it.
    updated_at INTEGER
  ) STRICT;
  INSERT INTO new_repositories (name, created_at)
    SELECT name, created_at FROM repositories ORDER BY created_at, name;
  DROP TABLE repositories;
  ALTER TABLE new_repositories RENAME TO repositories;

  CREATE TABLE new_manifests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository TEXT NOT NULL REFERENCES repositories (name),
    digest TEXT NOT NULL REFERENCES manifest_contents (digest),
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    annotations TEXT,
    created_at INTEGER NOT NULL,
    config_media_type TEXT,
    UNIQUE (repository, digest)
  ) STRICT;
  INSERT INTO new_manifests
      (repository, digest, media_type, size, artifact_type, subject, annotations, created_at, config_media_type)
    SELECT m.repository, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.created_at,
      (SELECT CASE WHEN json_valid(CAST(c.content AS TEXT))
                    AND json_type(CAST(c.content AS TEXT), '$.config.mediaType') = 'text'
               THEN json_extract(CAST(c.content AS TEXT), '$.config.mediaType') END
         FROM manifest_contents c WHERE c.digest = m.digest)
    FROM manifests m ORDER BY m.created_at, m.repository, m.digest;
  DROP TABLE manifests;
  ALTER TABLE new_manifests RENAME TO manifests;
  CREATE INDEX manifests_by_subject ON manifests (repository, subject, artifact_type);
  -- Whether any repository still holds a digest's bytes.
  CREATE INDEX manifests_by_digest ON manifests (digest);
  -- A repository's artifacts, newest first.
  CREATE INDEX manifests_by_created_at ON manifests (repository, created_at DESC, id DESC);

  -- Deleting a manifest deletes its tags through the cascade, in the same statement.
  CREATE TABLE new_tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository TEXT NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  ) STRICT;
  INSERT INTO new_tags (repository, name, digest, updated_at)
    SELECT repository, name, digest, updated_at FROM tags ORDER BY updated_at, repository, name;
  DROP TABLE tags;
  ALTER TABLE new_tags RENAME TO tags;
  CREATE INDEX tags_by_digest ON tags (repository, digest, name);
`;

/** System settings. */
const SETTINGS_STEP = `
  -- System settings changed through the API, one JSON value per key.
  CREATE TABLE system_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
`;

/** Background jobs: executions, their tasks and logs, schedules, worker pools, queue pauses. */
const JOBS_STEP = `
  CREATE TABLE job_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type TEXT NOT NULL,
    vendor_id INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
    status TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Stopped', 'Error', 'Success')),
    status_message TEXT NOT NULL,
    extra_attrs TEXT NOT NULL CHECK (json_valid(extra_attrs)),
    attempts INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL CHECK (stop_requested IN (0, 1)),
    owner TEXT,
    lease_until INTEGER,
    not_before INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER
  ) STRICT;
  CREATE INDEX job_executions_by_vendor ON job_executions (vendor_type, vendor_id, id);
  -- What workers poll: the few executions not yet ended.
  CREATE INDEX job_executions_open ON job_executions (status, id) WHERE status IN ('Pending', 'Running');

  CREATE TABLE job_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id INTEGER NOT NULL REFERENCES job_executions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Pending', 'Running', 'Stopped', 'Error', 'Success')),
    status_message TEXT NOT NULL,
    extra_attrs TEXT NOT NULL CHECK (json_valid(extra_attrs)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER
  ) STRICT;
  CREATE INDEX job_tasks_by_execution ON job_tasks (execution_id, id);

  -- An execution's own log lines (task_id NULL) and its tasks'.
  CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY,
    execution_id INTEGER NOT NULL REFERENCES job_executions (id) ON DELETE CASCADE,
    task_id INTEGER REFERENCES job_tasks (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    line TEXT NOT NULL
  ) STRICT;
  CREATE INDEX job_logs_by_execution ON job_logs (execution_id, task_id, id);

  CREATE TABLE job_schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type TEXT NOT NULL,
    vendor_id INTEGER NOT NULL,
    cron_type TEXT NOT NULL,
    cron TEXT NOT NULL,
    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
    next_run_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (vendor_type, vendor_id)
  ) STRICT;

  -- The processes running jobs, each renewing its row while it lives (Harbor's worker pools).
  CREATE TABLE job_pools (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  ) STRICT;

  -- Kinds of execution whose queue is paused: nobody claims them until resumed.
  CREATE TABLE job_queue_pauses (
    vendor_type TEXT PRIMARY KEY,
    paused_at INTEGER NOT NULL
  ) STRICT;
`;

/**
 * What garbage collection, retention and immutability keep (lifecycle-store.ts): when a blob was
 * last claimed (SQLite cannot add a NOT NULL column without a default, so `blobs` is rebuilt, as
 * ARTIFACT_IDS_STEP rebuilt its tables; every insert names the time), the storage objects of
 * deleted blobs until they are deleted, a manifest's last pull, pins, retention policies and
 * immutable tag rules.
 */
export const LIFECYCLE_STEP = `
  CREATE TABLE new_blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    parts TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- The last claim (garbage collection's): a record, a link, a manifest put, a read.
    touched_at INTEGER NOT NULL
  ) STRICT;
  INSERT INTO new_blobs (digest, size, parts, created_at, touched_at)
    SELECT digest, size, parts, created_at, created_at FROM blobs;
  DROP TABLE blobs;
  ALTER TABLE new_blobs RENAME TO blobs;

  -- The storage objects of deleted blobs, until garbage collection deletes them.
  CREATE TABLE gc_doomed_parts (
    path TEXT PRIMARY KEY,
    doomed_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX gc_doomed_parts_by_time ON gc_doomed_parts (doomed_at);

  -- NULL until the manifest is first pulled.
  ALTER TABLE manifests ADD COLUMN pulled_at INTEGER;

  -- Why an artifact is kept whatever retention and expiry say; it goes with its manifest.
  CREATE TABLE artifact_pins (
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repository, digest, reason),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID;

  -- One policy per project, Harbor's JSON as the API layer validated it.
  CREATE TABLE retention_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL UNIQUE REFERENCES projects (id) ON DELETE CASCADE,
    policy TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- Harbor's JSON of each rule, as the API layer validated it.
  CREATE TABLE immutable_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    priority INTEGER NOT NULL,
    rule TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX immutable_rules_by_project ON immutable_rules (project_id, id);
`;

/**
 * Harbor's scanner registrations (scanner-store.ts): the adapters' addresses and settings, the
 * access credential sealed. At most one default, and never a disabled one: a partial unique
 * index and a CHECK say so, whatever the callers do.
 */
export const SCANNERS_STEP = `
  CREATE TABLE scanner_registrations (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    url TEXT NOT NULL UNIQUE,
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    is_default INTEGER NOT NULL CHECK (is_default IN (0, 1)),
    auth TEXT NOT NULL CHECK (auth IN ('', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key')),
    sealed_credential TEXT,
    skip_cert_verify INTEGER NOT NULL CHECK (skip_cert_verify IN (0, 1)),
    use_internal_addr INTEGER NOT NULL CHECK (use_internal_addr IN (0, 1)),
    -- Made by the server itself (a built-in scanner): users may only disable it or make it default.
    immutable INTEGER NOT NULL CHECK (immutable IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((auth = '') = (sealed_credential IS NULL)),
    CHECK (NOT (is_default = 1 AND disabled = 1))
  ) STRICT, WITHOUT ROWID;
  CREATE UNIQUE INDEX scanner_registrations_one_default ON scanner_registrations (is_default) WHERE is_default = 1;
`;

/**
 * Scanning (scan-store.ts): a report per (artifact digest, scanner registration, report MIME
 * type), its summary beside it for listings, and the CVE allowlists (project 0: the system's).
 * Reports are keyed by digest, not by manifest row: repositories holding the same digest share
 * them, as in Harbor; those of digests no repository holds any more are deleted by the scan jobs.
 */
export const SCANS_STEP = `
  CREATE TABLE scan_reports (
    uuid TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    registration_uuid TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    status TEXT NOT NULL,
    scanner TEXT,
    start_time INTEGER,
    end_time INTEGER,
    severity TEXT,
    summary TEXT,
    report TEXT,
    database_updated_at INTEGER,
    execution_id INTEGER,
    task_id INTEGER,
    message TEXT,
    UNIQUE (digest, registration_uuid, mime_type)
  ) STRICT;
  CREATE INDEX scan_reports_by_execution ON scan_reports (execution_id);

  CREATE TABLE cve_allowlists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL UNIQUE,
    items TEXT NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
`;

/**
 * Harbor's webhook policies (webhook-store.ts): a project's targets (their auth headers sealed)
 * and event types as JSON, names unique per project, and when each (policy, event type) was last
 * triggered. Both go with the project.
 */
export const WEBHOOKS_STEP = `
  CREATE TABLE webhook_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    targets TEXT NOT NULL CHECK (json_valid(targets)),
    event_types TEXT NOT NULL CHECK (json_valid(event_types)),
    creator TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
  ) STRICT;

  CREATE TABLE webhook_last_triggers (
    policy_id INTEGER NOT NULL REFERENCES webhook_policies (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    triggered_at INTEGER NOT NULL,
    PRIMARY KEY (policy_id, event_type)
  ) STRICT, WITHOUT ROWID;
`;

/**
 * Harbor's replication policies (replication-store.ts). Exactly one side is another registry, an
 * endpoint of `registries` that cannot be deleted while a policy names it; the other side is this
 * registry (NULL). Filters and the trigger are the domain's JSON, as text.
 */
export const REPLICATION_STEP = `
  CREATE TABLE replication_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    creator TEXT NOT NULL,
    src_registry_id INTEGER REFERENCES registries (id),
    dest_registry_id INTEGER REFERENCES registries (id),
    dest_namespace TEXT NOT NULL,
    dest_namespace_replace_count INTEGER NOT NULL,
    trigger_json TEXT NOT NULL,
    filters_json TEXT NOT NULL,
    replicate_deletion INTEGER NOT NULL CHECK (replicate_deletion IN (0, 1)),
    override INTEGER NOT NULL CHECK (override IN (0, 1)),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    speed_kbps INTEGER NOT NULL,
    copy_by_chunk INTEGER NOT NULL CHECK (copy_by_chunk IN (0, 1)),
    single_active INTEGER NOT NULL CHECK (single_active IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((src_registry_id IS NULL) <> (dest_registry_id IS NULL))
  ) STRICT;
  -- Deleting an endpoint asks which policies still use it.
  CREATE INDEX replication_policies_by_src ON replication_policies (src_registry_id) WHERE src_registry_id IS NOT NULL;
  CREATE INDEX replication_policies_by_dest ON replication_policies (dest_registry_id) WHERE dest_registry_id IS NOT NULL;
  -- What the triggers read on every push.
  CREATE INDEX replication_policies_enabled ON replication_policies (id) WHERE enabled = 1;
`;

/**
 * The portal's sign-in sessions (session-store.ts), by the SHA-256 of their id (never the id).
 * They go with their user. Indexed for a user's sessions, oldest first (the bound per user and
 * revocation), and for the purge of ended and idle ones.
 */
export const SESSIONS_STEP = `
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
`;

/**
 * Which Pulumi stack declared an object (declaration-store.ts): one row per (kind, key); a row of
 * an object inside a project goes with the project. Listed by kind and key, and by project for
 * callers who see only some projects.
 */
export const DECLARATIONS_STEP = `
  CREATE TABLE declarations (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE,
    stack TEXT NOT NULL,
    resource TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX declarations_by_project ON declarations (project_id, kind, key) WHERE project_id IS NOT NULL;
`;

/**
 * The proxy cache's totals per upstream endpoint (proxy-cache-stats-store.ts), added to in
 * batches by every process; they go with their endpoint.
 */
export const PROXY_CACHE_STATS_STEP = `
  CREATE TABLE proxy_cache_stats (
    registry_id INTEGER PRIMARY KEY REFERENCES registries (id) ON DELETE CASCADE,
    hits INTEGER NOT NULL,
    misses INTEGER NOT NULL,
    stale_served INTEGER NOT NULL,
    bytes_served_from_cache INTEGER NOT NULL,
    upstream_errors INTEGER NOT NULL,
    since INTEGER NOT NULL
  ) STRICT;
`;

/** Schema steps, applied in order; `user_version` is the number applied. */
export const MIGRATIONS: readonly string[] = [
  CONTENT_STEP,
  IDENTITY_STEP,
  REGISTRIES_STEP,
  ARTIFACT_IDS_STEP,
  SETTINGS_STEP,
  JOBS_STEP,
  LIFECYCLE_STEP,
  SCANNERS_STEP,
  SCANS_STEP,
  WEBHOOKS_STEP,
  REPLICATION_STEP,
  SESSIONS_STEP,
  DECLARATIONS_STEP,
  PROXY_CACHE_STATS_STEP,
];

/** The `user_version` of a database this code has fully migrated. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database at `file` to the current schema, one step per transaction. */
export function migrate(db: DatabaseSync, file: string): void {
  const userVersion = (): number => Number(db.prepare("PRAGMA user_version").get()?.["user_version"] ?? 0);
  if (userVersion() > MIGRATIONS.length) {
    throw new Error(`${file}: schema version ${userVersion()} is newer than this server's (${MIGRATIONS.length})`);
  }
  if (userVersion() === MIGRATIONS.length) return;
  // A step may rebuild a table others reference (SQLite cannot alter a column's kind): SQLite's
  // procedure turns foreign keys off around it (the pragma is ignored inside a transaction) and
  // checks them before the step commits, so that a rebuild cannot leave a dangling reference.
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    while (userVersion() < MIGRATIONS.length) {
      db.exec("BEGIN IMMEDIATE");
      try {
        // Read again under the write lock: another process may have migrated meanwhile.
        const version = userVersion();
        const step = MIGRATIONS[version];
        if (step !== undefined) {
          db.exec(step);
          const dangling = db.prepare("PRAGMA foreign_key_check").all();
          if (dangling.length > 0) {
            throw new Error(
              `${file}: schema step ${version + 1} leaves references dangling: ${JSON.stringify(dangling.slice(0, 5))}`,
            );
          }
          db.exec(`PRAGMA user_version = ${version + 1}`);
        }
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    }
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}
