// The PostgreSQL metadata store's schema: versioned steps recorded in a table, applied when a
// store opens. Several replicas may start at once against one database: a session-level advisory
// lock makes one of them migrate while the others wait, then find the work done.
//
// The tables mirror the SQLite store's (sqlite/schema.ts) with PostgreSQL's types: times are
// timestamptz (microseconds, so the milliseconds of a Date survive), sizes and ids bigint, JSON
// jsonb (json for annotations, which keeps the manifest's key order), bytes bytea. Every name and
// digest column is COLLATE "C": listings are in byte order, as the OCI API and SQLite have it,
// whatever the database's default collation. Ids come from identity columns: a sequence never
// hands out a number twice, even after a rollback or a delete, as SQLite's AUTOINCREMENT.

import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { watchCheckedOut } from "./connection.ts";

/**
 * The first release's tables: repositories, blobs and their links, uploads, manifests with their
 * bytes and references, tags; users, projects, members, robots, the audit log; upstream registry
 * endpoints.
 */
const CONTENT_STEP = `
  CREATE TABLE repositories (
    name text COLLATE "C" PRIMARY KEY,
    created_at timestamptz NOT NULL
  );

  CREATE TABLE blobs (
    digest text COLLATE "C" PRIMARY KEY,
    size bigint NOT NULL,
    parts jsonb NOT NULL,
    created_at timestamptz NOT NULL
  );

  CREATE TABLE repository_blobs (
    repository text COLLATE "C" NOT NULL REFERENCES repositories (name),
    digest text COLLATE "C" NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
    PRIMARY KEY (repository, digest)
  );
  -- repositoriesOf, and the cascade when a blob is deleted.
  CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest, repository);

  CREATE TABLE uploads (
    id text COLLATE "C" PRIMARY KEY,
    repository text COLLATE "C" NOT NULL REFERENCES repositories (name),
    algorithm text NOT NULL,
    size bigint NOT NULL,
    parts jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX uploads_by_updated_at ON uploads (updated_at, id);
  -- Deleting a repository deletes its sessions (PostgreSQL indexes no referencing column itself).
  CREATE INDEX uploads_by_repository ON uploads (repository);

  -- A manifest's bytes, shared by every repository holding that digest.
  CREATE TABLE manifest_contents (
    digest text COLLATE "C" PRIMARY KEY,
    content bytea NOT NULL
  );

  CREATE TABLE manifests (
    repository text COLLATE "C" NOT NULL REFERENCES repositories (name),
    digest text COLLATE "C" NOT NULL REFERENCES manifest_contents (digest),
    media_type text NOT NULL,
    size bigint NOT NULL,
    artifact_type text COLLATE "C",
    subject text COLLATE "C",
    annotations json,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (repository, digest)
  );
  CREATE INDEX manifests_by_subject ON manifests (repository, subject, artifact_type);
  -- Whether any repository still holds a digest's bytes.
  CREATE INDEX manifests_by_digest ON manifests (digest);
  -- A repository's manifests, newest first.
  CREATE INDEX manifests_by_created_at ON manifests (repository, created_at DESC, digest);

  CREATE TABLE manifest_blob_refs (
    repository text COLLATE "C" NOT NULL,
    manifest_digest text COLLATE "C" NOT NULL,
    blob_digest text COLLATE "C" NOT NULL,
    PRIMARY KEY (repository, manifest_digest, blob_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX manifest_blob_refs_by_blob ON manifest_blob_refs (repository, blob_digest);

  CREATE TABLE manifest_child_refs (
    repository text COLLATE "C" NOT NULL,
    manifest_digest text COLLATE "C" NOT NULL,
    child_digest text COLLATE "C" NOT NULL,
    PRIMARY KEY (repository, manifest_digest, child_digest),
    FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX manifest_child_refs_by_child ON manifest_child_refs (repository, child_digest);

  -- Deleting a manifest deletes its tags through the cascade, in the same statement.
  CREATE TABLE tags (
    repository text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    digest text COLLATE "C" NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX tags_by_digest ON tags (repository, digest, name);

  CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text COLLATE "C" NOT NULL CONSTRAINT users_username_key UNIQUE,
    email text COLLATE "C" NOT NULL,
    realname text NOT NULL,
    comment text NOT NULL,
    password_hash text NOT NULL,
    sysadmin boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  -- Any number of users without an email; an email belongs to one user.
  CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email <> '';

  CREATE TABLE projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL CONSTRAINT projects_name_key UNIQUE,
    owner_id bigint NOT NULL,
    metadata jsonb NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
    storage_limit bigint NOT NULL,
    registry_id bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  -- Deleting an endpoint asks which projects still use it.
  CREATE INDEX projects_by_registry ON projects (registry_id) WHERE registry_id IS NOT NULL;

  CREATE TABLE project_members (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id integer NOT NULL CHECK (role_id BETWEEN 1 AND 5),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT project_members_project_user_key UNIQUE (project_id, user_id)
  );
  -- A user's projects, and the cascade when a user is deleted.
  CREATE INDEX project_members_by_user ON project_members (user_id);

  CREATE TABLE robots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL CONSTRAINT robots_name_key UNIQUE,
    description text NOT NULL,
    level text NOT NULL CHECK (level IN ('system', 'project')),
    project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    duration integer NOT NULL,
    expires_at bigint NOT NULL,
    disabled boolean NOT NULL,
    secret_hash text NOT NULL,
    permissions jsonb NOT NULL CHECK (jsonb_typeof(permissions) = 'array'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX robots_by_project ON robots (project_id);

  -- No foreign key to projects: the log outlives them.
  CREATE TABLE audit_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text COLLATE "C" NOT NULL,
    resource text COLLATE "C" NOT NULL,
    resource_type text NOT NULL,
    operation text NOT NULL,
    success boolean NOT NULL,
    project_id bigint,
    op_time timestamptz NOT NULL
  );
  CREATE INDEX audit_logs_by_project ON audit_logs (project_id, op_time);
  CREATE INDEX audit_logs_by_time ON audit_logs (op_time);

  -- Upstream endpoints; a project's registry_id must never come to mean another one.
  CREATE TABLE registries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL CONSTRAINT registries_name_key UNIQUE,
    type text NOT NULL,
    url text NOT NULL,
    description text NOT NULL,
    insecure boolean NOT NULL,
    credential_type text,
    access_key text,
    sealed_secret text,
    ca_certificate text,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((credential_type IS NULL) = (access_key IS NULL) AND (access_key IS NULL) = (sealed_secret IS NULL))
  );
  `;

/**
 * The schema step adding the ids. Identity columns added to tables with rows number those rows
 * at once; a sequence never hands a number out twice. `config_media_type` (an image manifest's
 * config media type, the artifact media type Harbor reports) is read from the manifests' own
 * bytes for the rows already there; bytes that are not JSON leave it unknown.
 */
export const ARTIFACT_IDS_STEP = `
  ALTER TABLE repositories
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT repositories_id_key UNIQUE,
    ADD COLUMN description text NOT NULL DEFAULT '',
    -- NULL until the repository's record changes: the creation time stands for it.
    ADD COLUMN updated_at timestamptz;

  ALTER TABLE manifests
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT manifests_id_key UNIQUE,
    ADD COLUMN config_media_type text;
  DO $$
  DECLARE
    rec record;
  BEGIN
    FOR rec IN
      SELECT m.repository, m.digest, c.content FROM manifests m JOIN manifest_contents c ON c.digest = m.digest
        WHERE m.media_type IN ('application/vnd.oci.image.manifest.v1+json',
                               'application/vnd.docker.distribution.manifest.v2+json')
    LOOP
      BEGIN
        UPDATE manifests SET config_media_type = (
          SELECT CASE WHEN jsonb_typeof(doc #> '{config,mediaType}') = 'string' THEN doc #>> '{config,mediaType}' END
            FROM (SELECT convert_from(rec.content, 'UTF8')::jsonb AS doc) parsed)
          WHERE repository = rec.repository AND digest = rec.digest;
      EXCEPTION WHEN others THEN
        NULL;
      END;
    END LOOP;
  END
  $$;

  ALTER TABLE tags
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT tags_id_key UNIQUE;
`;

/** System settings. */
const SETTINGS_STEP = `
  -- System settings changed through the API, one JSON value per key (postgres-settings.ts).
  CREATE TABLE system_settings (
    key text COLLATE "C" PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL
  );
  `;

/** Background jobs: executions, their tasks and logs, schedules, worker pools, queue pauses. */
const JOBS_STEP = `
  -- Background jobs (postgres-jobs.ts): executions, their tasks and logs, schedules, pools, pauses.
  CREATE TABLE job_executions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_type text COLLATE "C" NOT NULL,
    vendor_id bigint NOT NULL,
    trigger_kind text NOT NULL,
    parameters jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('Pending', 'Running', 'Stopped', 'Error', 'Success')),
    status_message text NOT NULL,
    extra_attrs jsonb NOT NULL,
    attempts integer NOT NULL,
    stop_requested boolean NOT NULL,
    owner text,
    lease_until timestamptz,
    not_before timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    ended_at timestamptz
  );
  CREATE INDEX job_executions_by_vendor ON job_executions (vendor_type, vendor_id, id);
  -- What workers poll: the few executions not yet ended.
  CREATE INDEX job_executions_open ON job_executions (status, id) WHERE status IN ('Pending', 'Running');

  CREATE TABLE job_tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id bigint NOT NULL REFERENCES job_executions (id) ON DELETE CASCADE,
    name text NOT NULL,
    status text NOT NULL CHECK (status IN ('Pending', 'Running', 'Stopped', 'Error', 'Success')),
    status_message text NOT NULL,
    extra_attrs jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    ended_at timestamptz
  );
  CREATE INDEX job_tasks_by_execution ON job_tasks (execution_id, id);

  -- An execution's own log lines (task_id NULL) and its tasks'.
  CREATE TABLE job_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id bigint NOT NULL REFERENCES job_executions (id) ON DELETE CASCADE,
    task_id bigint REFERENCES job_tasks (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    line text NOT NULL
  );
  CREATE INDEX job_logs_by_execution ON job_logs (execution_id, task_id, id);

  CREATE TABLE job_schedules (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_type text COLLATE "C" NOT NULL,
    vendor_id bigint NOT NULL,
    cron_type text NOT NULL,
    cron text NOT NULL,
    parameters jsonb NOT NULL,
    next_run_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (vendor_type, vendor_id)
  );

  -- The processes running jobs, each renewing its row while it lives (Harbor's worker pools).
  CREATE TABLE job_pools (
    id text COLLATE "C" PRIMARY KEY,
    pid integer NOT NULL,
    host text NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
  );

  -- Kinds of execution whose queue is paused: nobody claims them until resumed.
  CREATE TABLE job_queue_pauses (
    vendor_type text COLLATE "C" PRIMARY KEY,
    paused_at timestamptz NOT NULL
  );
  `;

/**
 * What garbage collection, retention and immutability keep (lifecycle-store.ts): when a blob was
 * last claimed, the storage objects of deleted blobs until they are deleted, a manifest's last
 * pull, pins, retention policies and immutable tag rules; and the index a sweep needs to ask
 * whether any manifest of any repository references a blob.
 */
export const LIFECYCLE_STEP = `
  -- The last claim (garbage collection's): a record, a link, a manifest put, a read.
  ALTER TABLE blobs ADD COLUMN touched_at timestamptz;
  UPDATE blobs SET touched_at = created_at;
  ALTER TABLE blobs ALTER COLUMN touched_at SET NOT NULL;
  CREATE INDEX manifest_blob_refs_by_digest ON manifest_blob_refs (blob_digest);

  -- The storage objects of deleted blobs, until garbage collection deletes them.
  CREATE TABLE gc_doomed_parts (
    path text COLLATE "C" PRIMARY KEY,
    doomed_at timestamptz NOT NULL
  );
  CREATE INDEX gc_doomed_parts_by_time ON gc_doomed_parts (doomed_at);

  -- NULL until the manifest is first pulled.
  ALTER TABLE manifests ADD COLUMN pulled_at timestamptz;

  -- Why an artifact is kept whatever retention and expiry say; it goes with its manifest.
  CREATE TABLE artifact_pins (
    repository text COLLATE "C" NOT NULL,
    digest text COLLATE "C" NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (repository, digest, reason),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );

  -- One policy per project, Harbor's JSON as the API layer validated it (text: kept byte for byte).
  CREATE TABLE retention_policies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL CONSTRAINT retention_policies_project_key UNIQUE
      REFERENCES projects (id) ON DELETE CASCADE,
    policy text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );

  -- Harbor's JSON of each rule, as the API layer validated it.
  CREATE TABLE immutable_rules (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    disabled boolean NOT NULL,
    priority integer NOT NULL,
    rule text NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX immutable_rules_by_project ON immutable_rules (project_id, id);
`;

/**
 * Harbor's scanner registrations (scanner-store.ts): the adapters' addresses and settings, the
 * access credential sealed. At most one default, and never a disabled one: a partial unique
 * index and a CHECK say so, whatever the callers do. Named constraints: the store tells a taken
 * name from a taken URL by them.
 */
export const SCANNERS_STEP = `
  CREATE TABLE scanner_registrations (
    uuid text COLLATE "C" PRIMARY KEY,
    name text COLLATE "C" NOT NULL CONSTRAINT scanner_registrations_name_key UNIQUE,
    description text NOT NULL,
    url text COLLATE "C" NOT NULL CONSTRAINT scanner_registrations_url_key UNIQUE,
    disabled boolean NOT NULL,
    is_default boolean NOT NULL,
    auth text NOT NULL CHECK (auth IN ('', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key')),
    sealed_credential text,
    skip_cert_verify boolean NOT NULL,
    use_internal_addr boolean NOT NULL,
    -- Made by the server itself (a built-in scanner): users may only disable it or make it default.
    immutable boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((auth = '') = (sealed_credential IS NULL)),
    CHECK (NOT (is_default AND disabled))
  );
  CREATE UNIQUE INDEX scanner_registrations_one_default ON scanner_registrations (is_default) WHERE is_default;
`;

/** Scanning (scan-store.ts); sqlite/schema.ts's SCANS_STEP says why it is keyed by digest. */
export const SCANS_STEP = `
  CREATE TABLE scan_reports (
    uuid text COLLATE "C" PRIMARY KEY,
    digest text COLLATE "C" NOT NULL,
    registration_uuid text COLLATE "C" NOT NULL,
    mime_type text NOT NULL,
    status text NOT NULL,
    scanner jsonb,
    start_time timestamptz,
    end_time timestamptz,
    severity text,
    summary jsonb,
    report text,
    database_updated_at timestamptz,
    execution_id bigint,
    task_id bigint,
    message text,
    CONSTRAINT scan_reports_key UNIQUE (digest, registration_uuid, mime_type)
  );
  CREATE INDEX scan_reports_by_execution ON scan_reports (execution_id);

  CREATE TABLE cve_allowlists (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL CONSTRAINT cve_allowlists_project_key UNIQUE,
    items jsonb NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
`;

/** Harbor's webhook policies (webhook-store.ts); sqlite/schema.ts's WEBHOOKS_STEP says what they hold. */
export const WEBHOOKS_STEP = `
  CREATE TABLE webhook_policies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name text COLLATE "C" NOT NULL,
    description text NOT NULL,
    targets jsonb NOT NULL,
    event_types jsonb NOT NULL,
    creator text NOT NULL,
    enabled boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT webhook_policies_name_key UNIQUE (project_id, name)
  );

  CREATE TABLE webhook_last_triggers (
    policy_id bigint NOT NULL REFERENCES webhook_policies (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    triggered_at timestamptz NOT NULL,
    PRIMARY KEY (policy_id, event_type)
  );
`;

/** Harbor's replication policies (replication-store.ts); sqlite/schema.ts's REPLICATION_STEP says why. */
export const REPLICATION_STEP = `
  CREATE TABLE replication_policies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL CONSTRAINT replication_policies_name_key UNIQUE,
    description text NOT NULL,
    creator text NOT NULL,
    src_registry_id bigint REFERENCES registries (id),
    dest_registry_id bigint REFERENCES registries (id),
    dest_namespace text NOT NULL,
    dest_namespace_replace_count integer NOT NULL,
    trigger_json text NOT NULL,
    filters_json text NOT NULL,
    replicate_deletion boolean NOT NULL,
    override boolean NOT NULL,
    enabled boolean NOT NULL,
    speed_kbps integer NOT NULL,
    copy_by_chunk boolean NOT NULL,
    single_active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((src_registry_id IS NULL) <> (dest_registry_id IS NULL))
  );
  -- Deleting an endpoint asks which policies still use it.
  CREATE INDEX replication_policies_by_src ON replication_policies (src_registry_id) WHERE src_registry_id IS NOT NULL;
  CREATE INDEX replication_policies_by_dest ON replication_policies (dest_registry_id) WHERE dest_registry_id IS NOT NULL;
  -- What the triggers read on every push.
  CREATE INDEX replication_policies_enabled ON replication_policies (id) WHERE enabled;
`;

/** Which Pulumi stack declared an object; sqlite/schema.ts's DECLARATIONS_STEP says what it holds. */
export const DECLARATIONS_STEP = `
  CREATE TABLE declarations (
    kind text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    stack text NOT NULL,
    resource text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
  );
  CREATE INDEX declarations_by_project ON declarations (project_id, kind, key) WHERE project_id IS NOT NULL;
`;

/** The portal's sign-in sessions (session-store.ts); sqlite/schema.ts's SESSIONS_STEP says why. */
export const SESSIONS_STEP = `
  CREATE TABLE sessions (
    id_hash text COLLATE "C" PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
`;

/** The proxy cache's totals per endpoint; sqlite/schema.ts's PROXY_CACHE_STATS_STEP says why. */
export const PROXY_CACHE_STATS_STEP = `
  CREATE TABLE proxy_cache_stats (
    registry_id bigint PRIMARY KEY REFERENCES registries (id) ON DELETE CASCADE,
    hits bigint NOT NULL,
    misses bigint NOT NULL,
    stale_served bigint NOT NULL,
    bytes_served_from_cache bigint NOT NULL,
    upstream_errors bigint NOT NULL,
    since timestamptz NOT NULL
  );
`;

/** Schema steps, applied in order. Append new steps; never edit a released one (checked). */
export const MIGRATIONS: readonly string[] = [
  CONTENT_STEP,
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

/** The version of a database this code has fully migrated. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** The table recording the applied steps; prefixed, since the database may be shared. */
export const MIGRATIONS_TABLE = "airlock_schema_migrations";

/** The advisory lock key serialising migrations (any fixed 64-bit number; this one spells AIRLOCK1). */
const MIGRATION_LOCK = "4704381773465996081";

/** How long a replica waits for another one's migration before giving up. */
const MIGRATION_LOCK_TIMEOUT = "120s";

function checksum(step: string): string {
  return createHash("sha256").update(step).digest("hex");
}

/**
 * Brings the database to the schema of `steps` (the store's MIGRATIONS; tests pass others).
 * Refuses a database migrated by a newer server, or one whose applied steps differ from ours.
 */
export async function migrate(pool: Pool, steps: readonly string[] = MIGRATIONS): Promise<void> {
  const client = await pool.connect();
  // A connection cut meanwhile fails the statement in flight; unheard, its event would end the process.
  const unwatch = watchCheckedOut(client, () => undefined);
  try {
    // lock_timeout bounds the wait for the advisory lock as for any other lock.
    await client.query(`SET lock_timeout = '${MIGRATION_LOCK_TIMEOUT}'`);
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query("RESET lock_timeout");
    await applySteps(client, steps);
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  } finally {
    unwatch();
    // Closed rather than pooled: whatever went wrong, the session and its lock end here.
    client.release(true);
  }
}

async function applySteps(client: PoolClient, steps: readonly string[]): Promise<void> {
  // Under the lock: several replicas creating the table at once would collide in the catalog.
  await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version integer PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied = await client.query<{ version: number; checksum: string }>(
    `SELECT version, checksum FROM ${MIGRATIONS_TABLE} ORDER BY version`,
  );
  const newest = applied.rows.at(-1)?.version ?? 0;
  if (newest > steps.length) {
    throw new Error(`the metadata database's schema version ${newest} is newer than this server's (${steps.length})`);
  }
  for (const row of applied.rows) {
    const step = steps[row.version - 1];
    if (step === undefined || checksum(step) !== row.checksum) {
      throw new Error(
        `schema step ${row.version} applied to the metadata database differs from this server's: ` +
          "released steps must never be edited",
      );
    }
  }
  for (let version = newest + 1; version <= steps.length; version++) {
    const step = steps[version - 1] ?? "";
    await client.query("BEGIN");
    try {
      // A step and its record commit together: a crash in between leaves neither.
      await client.query(step);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, checksum) VALUES ($1, $2)`, [
        version,
        checksum(step),
      ]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw new Error(`schema step ${version} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
