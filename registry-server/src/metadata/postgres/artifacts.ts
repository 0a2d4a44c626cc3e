// The artifacts area of the PostgreSQL metadata store (artifact-store.ts): the schema step giving
// repositories, manifests and tags their ids, and the queries, written against `Db` and bound to
// the store's connections by postgres-store.ts. The semantics are the SQLite store's
// (sqlite-artifacts.ts), statement for statement where PostgreSQL allows.

import type {
  ArtifactCount,
  ArtifactMetadata,
  ArtifactQuery,
  ArtifactRecord,
  MediaTypeCondition,
  RepositoryQuery,
  RepositoryRecord,
  SortKey,
  TagEntry,
  TagQuery,
  TextMatch,
} from "../artifact-store.ts";
import { ConflictError } from "../identity-store.ts";
import { OldConditions, isUniqueViolation, oldListing, type Db, type Run } from "./connection.ts";
import { projectRange } from "../rows/sql.ts";

interface RepositoryRow {
  id: number;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
}

interface ArtifactRow {
  id: number;
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: Record<string, string> | null;
  created_at: Date;
  config_media_type: string | null;
}

interface TagRow {
  id: number;
  repository: string;
  name: string;
  digest: string;
  updated_at: Date;
  artifact_id: number;
}

const REPOSITORY_COLUMNS =
  "r.id, r.name, r.description, r.created_at, coalesce(r.updated_at, r.created_at) AS updated_at";

const ARTIFACT_COLUMNS =
  "m.id, m.repository, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.created_at, m.config_media_type";

const TAG_COLUMNS = "t.id, t.repository, t.name, t.digest, t.updated_at, m.id AS artifact_id";
const TAG_TABLE = "tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest";

/**
 * The media type Harbor reports: the config's for an image manifest; for an index, the artifact
 * type its annotations name (CNAB bundles), else the manifest's own.
 */
const MEDIA_TYPE = `coalesce(m.config_media_type,
  CASE WHEN m.media_type IN ('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')
    THEN nullif(m.annotations ->> 'org.opencontainers.artifactType', '') END,
  m.media_type)`;

const TAGGED = "EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)";
const IN_AN_INDEX =
  "EXISTS (SELECT 1 FROM manifest_child_refs c WHERE c.repository = m.repository AND c.child_digest = m.digest)";
/** cosign's tag for a signature, `sha256-<64 hex>.sig`, naming a manifest of the repository. */
const COSIGN_SIGNATURE = `EXISTS (SELECT 1 FROM tags t
    JOIN manifests s ON s.repository = t.repository AND s.digest = 'sha256:' || substr(t.name, 8, 64)
    WHERE t.repository = m.repository AND t.digest = m.digest
      AND length(t.name) = 75 AND substr(t.name, 1, 7) = 'sha256-' AND substr(t.name, 72) = '.sig')`;

// COLLATE "C": byte order whatever the database's collation, as SQLite sorts.
const REPOSITORY_ORDER = {
  id: "r.id",
  name: "r.name",
  creation_time: "r.created_at",
  update_time: "coalesce(r.updated_at, r.created_at)",
} as const;
const ARTIFACT_ORDER = {
  id: "m.id",
  push_time: "m.created_at",
  digest: "m.digest",
  media_type: `${MEDIA_TYPE} COLLATE "C"`,
  manifest_media_type: 'm.media_type COLLATE "C"',
  artifact_type: "coalesce(m.artifact_type, '')",
} as const;
const TAG_ORDER = { id: "t.id", name: "t.name", push_time: "t.updated_at" } as const;

/** `column` matching `match`: equal, or containing it whatever the case. */
function text(where: OldConditions, column: string, match: TextMatch | undefined): void {
  if (!match) return;
  where.add((p) =>
    match.fuzzy ? `strpos(lower(${column}), lower(${p(match.value)})) > 0` : `${column} = ${p(match.value)}`,
  );
}

/** A LIKE pattern whose only wildcard is `%` (ESCAPE '\'). */
function likePattern(pattern: string): string {
  return pattern.toLowerCase().replace(/[\\_]/g, (c) => `\\${c}`);
}

function mediaTypeCondition(where: OldConditions, condition: MediaTypeCondition): void {
  if ("anyOf" in condition) where.add((p) => `${MEDIA_TYPE} = ANY(${p(condition.anyOf)}::text[])`);
  else if ("noneOf" in condition) where.add((p) => `NOT (${MEDIA_TYPE} = ANY(${p(condition.noneOf)}::text[]))`);
  else if ("like" in condition)
    where.add((p) => `lower(${MEDIA_TYPE}) LIKE ${p(likePattern(condition.like))} ESCAPE '\\'`);
  else if ("notLike" in condition) {
    where.add((p) => `lower(${MEDIA_TYPE}) NOT LIKE ${p(likePattern(condition.notLike))} ESCAPE '\\'`);
  } else text(where, MEDIA_TYPE, condition);
}

/** ORDER BY from the keys given (columns from `columns` only), ending with `id` for ties. */
function orderBy<K extends string>(sort: readonly SortKey<K>[], columns: Readonly<Record<K | "id", string>>): string {
  const keys = sort.map((s) => `${columns[s.key]} ${s.desc ? "DESC" : "ASC"}`);
  if (!sort.some((s) => s.key === "id")) keys.push(`${columns.id} ASC`);
  return keys.join(", ");
}

function toRepository(row: RepositoryRow): RepositoryRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toArtifact(row: ArtifactRow): ArtifactRecord {
  return {
    id: row.id,
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    size: row.size,
    ...(row.artifact_type !== null && { artifactType: row.artifact_type }),
    ...(row.subject !== null && { subject: row.subject }),
    ...(row.annotations !== null && { annotations: row.annotations }),
    ...(row.config_media_type !== null && { configMediaType: row.config_media_type }),
    createdAt: row.created_at,
  };
}

function toTag(row: TagRow): TagEntry {
  return {
    id: row.id,
    repository: row.repository,
    name: row.name,
    digest: row.digest,
    updatedAt: row.updated_at,
    artifactId: row.artifact_id,
  };
}

async function getRepository(db: Db, name: string): Promise<RepositoryRecord | undefined> {
  const row = await db.row<RepositoryRow>(`SELECT ${REPOSITORY_COLUMNS} FROM repositories r WHERE r.name = $1`, name);
  return row && toRepository(row);
}

export function artifactArea(read: Run, write: Run): ArtifactMetadata {
  return {
    repository: (name) => read((db) => getRepository(db, name)),
    repositories: (query: RepositoryQuery, window) =>
      read((db) => {
        const where = new OldConditions();
        const [only, ...more] = query.projects ?? [];
        if (query.projects && query.projects.length === 0) where.add(() => "false");
        else if (only !== undefined && more.length === 0) {
          const [from, to] = projectRange(only);
          where.add((p) => `r.name > ${p(from)} AND r.name < ${p(to)}`);
        } else if (query.projects) {
          const projects = query.projects;
          where.add((p) => `strpos(r.name, '/') > 0 AND split_part(r.name, '/', 1) = ANY(${p(projects)}::text[])`);
        }
        text(where, "r.name", query.name);
        if (query.ids) {
          const ids = query.ids;
          where.add((p) => `r.id = ANY(${p(ids)}::bigint[])`);
        }
        return oldListing(
          db,
          { table: "repositories r", columns: REPOSITORY_COLUMNS, where, order: orderBy(query.sort, REPOSITORY_ORDER) },
          window,
          toRepository,
        );
      }),
    describeRepository: (name, description, at) =>
      write(async (db) => {
        const changed = await db.run(
          "UPDATE repositories SET description = $1, updated_at = $2 WHERE name = $3",
          description,
          at,
          name,
        );
        return changed === 0 ? undefined : getRepository(db, name);
      }),
    artifact: (repository, digest) =>
      read(async (db) => {
        const row = await db.row<ArtifactRow>(
          `SELECT ${ARTIFACT_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.digest = $2`,
          repository,
          digest,
        );
        return row && toArtifact(row);
      }),
    artifacts: (repository, query: ArtifactQuery, window) =>
      read((db) => {
        const where = new OldConditions();
        where.add((p) => `m.repository = ${p(repository)}`);
        where.add(() => `m.subject IS NULL AND NOT ${COSIGN_SIGNATURE}`);
        if (!query.all) where.add(() => `(${TAGGED} OR NOT ${IN_AN_INDEX})`);
        if (query.tagged === true) where.add(() => TAGGED);
        if (query.tagged === false) where.add(() => `NOT ${TAGGED} AND NOT ${IN_AN_INDEX}`);
        const tag = query.tag;
        if (tag) {
          where.add((p) => {
            const name = tag.fuzzy ? `strpos(lower(t.name), lower(${p(tag.value)})) > 0` : `t.name = ${p(tag.value)}`;
            return `EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest AND ${name})`;
          });
        }
        text(where, "m.digest", query.digest);
        text(where, "m.media_type", query.manifestMediaType);
        text(where, "m.artifact_type", query.artifactType);
        if (query.ids) {
          const ids = query.ids;
          where.add((p) => `m.id = ANY(${p(ids)}::bigint[])`);
        }
        for (const condition of query.mediaType ?? []) mediaTypeCondition(where, condition);
        const from = query.pushed?.from;
        const to = query.pushed?.to;
        if (from) where.add((p) => `m.created_at >= ${p(from)}`);
        if (to) where.add((p) => `m.created_at <= ${p(to)}`);
        return oldListing(
          db,
          { table: "manifests m", columns: ARTIFACT_COLUMNS, where, order: orderBy(query.sort, ARTIFACT_ORDER) },
          window,
          toArtifact,
        );
      }),
    tags: (repository, query: TagQuery, window) =>
      read((db) => {
        const where = new OldConditions();
        where.add((p) => `t.repository = ${p(repository)}`);
        const digest = query.digest;
        if (digest !== undefined) where.add((p) => `t.digest = ${p(digest)}`);
        text(where, "t.name", query.name);
        return oldListing(
          db,
          { table: TAG_TABLE, columns: TAG_COLUMNS, where, order: orderBy(query.sort, TAG_ORDER) },
          window,
          toTag,
        );
      }),
    createTag: (repository, name, digest, at) =>
      write(async (db) => {
        try {
          await db.run(
            "INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4)",
            repository,
            name,
            digest,
            at,
          );
        } catch (error) {
          if (isUniqueViolation(error, "tags_pkey")) {
            throw new ConflictError(`tag ${name} already exists under the repository ${repository}`, {
              cause: error,
            });
          }
          throw error;
        }
        const row = await db.row<TagRow>(
          `SELECT ${TAG_COLUMNS} FROM ${TAG_TABLE} WHERE t.repository = $1 AND t.name = $2`,
          repository,
          name,
        );
        if (!row) throw new Error(`tag ${name} was created but is not found`);
        return toTag(row);
      }),
    deleteTag: (repository, name, digest) =>
      write(
        async (db) =>
          (await db.run(
            "DELETE FROM tags WHERE repository = $1 AND name = $2 AND digest = $3",
            repository,
            name,
            digest,
          )) > 0,
      ),
    artifactCounts: () =>
      read(async (db) =>
        (
          await db.rows<{ project: string; media_type: string; n: number }>(
            `SELECT project, media_type, n FROM (
               SELECT split_part(m.repository, '/', 1) AS project, ${MEDIA_TYPE} AS media_type, count(*) AS n
                 FROM manifests m WHERE strpos(m.repository, '/') > 1
                 GROUP BY 1, 2
             ) counted ORDER BY project COLLATE "C", media_type COLLATE "C"`,
          )
        ).map((row): ArtifactCount => ({ project: row.project, mediaType: row.media_type, count: row.n })),
      ),
  };
}
