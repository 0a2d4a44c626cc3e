// The artifacts area of the SQLite metadata store (artifact-store.ts): the schema step that gives
// repositories, manifests and tags their ids, and the queries, which sqlite-store.ts wires to its
// connections and transactions as it does the other areas'.
//
// Listings are assembled from the conditions present, so each combination is one cached
// statement and the indexes stay usable; a list's total is counted under the same WHERE.

import type { SQLInputValue } from "node:sqlite";
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
import { ConflictError, type Listing, type Window } from "../identity-store.ts";
import { Db } from "./statements.ts";

interface RepositoryRow {
  id: number;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

interface ArtifactRow {
  id: number;
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
  config_media_type: string | null;
}

interface TagRow {
  id: number;
  repository: string;
  name: string;
  digest: string;
  updated_at: number;
  artifact_id: number;
}

const REPOSITORY_SELECT = `SELECT r.id, r.name, r.description, r.created_at,
    coalesce(r.updated_at, r.created_at) AS updated_at
  FROM repositories r`;

const ARTIFACT_COLUMNS =
  "m.id, m.repository, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.created_at, m.config_media_type";

const TAG_SELECT = `SELECT t.id, t.repository, t.name, t.digest, t.updated_at, m.id AS artifact_id
  FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest`;

/**
 * The media type Harbor reports: the config's for an image manifest; for an index, the artifact
 * type its annotations name (CNAB bundles), else the manifest's own.
 */
const MEDIA_TYPE = `coalesce(m.config_media_type,
  CASE WHEN m.media_type IN ('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')
    THEN nullif(json_extract(m.annotations, '$."org.opencontainers.artifactType"'), '') END,
  m.media_type)`;

const TAGGED = "EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)";
const IN_AN_INDEX =
  "EXISTS (SELECT 1 FROM manifest_child_refs c WHERE c.repository = m.repository AND c.child_digest = m.digest)";
/** cosign's tag for a signature, `sha256-<64 hex>.sig`, naming a manifest of the repository. */
const COSIGN_SIGNATURE = `EXISTS (SELECT 1 FROM tags t
    JOIN manifests s ON s.repository = t.repository AND s.digest = 'sha256:' || substr(t.name, 8, 64)
    WHERE t.repository = m.repository AND t.digest = m.digest
      AND length(t.name) = 75 AND substr(t.name, 1, 7) = 'sha256-' AND substr(t.name, 72) = '.sig')`;

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
  media_type: MEDIA_TYPE,
  manifest_media_type: "m.media_type",
  artifact_type: "coalesce(m.artifact_type, '')",
} as const;
const TAG_ORDER = { id: "t.id", name: "t.name", push_time: "t.updated_at" } as const;

/** WHERE conditions with their parameters, in order. */
class Conditions {
  private readonly sql: string[] = [];
  readonly params: SQLInputValue[] = [];

  add(sql: string, ...params: SQLInputValue[]): this {
    this.sql.push(sql);
    this.params.push(...params);
    return this;
  }

  /** `column` matching `match`: equal, or containing it whatever the case. */
  text(column: string, match: TextMatch | undefined): this {
    if (!match) return this;
    return match.fuzzy
      ? this.add(`instr(lower(${column}), lower(?)) > 0`, match.value)
      : this.add(`${column} = ?`, match.value);
  }

  /** `column` among `values` (none: nothing matches). */
  among(column: string, values: readonly (string | number)[] | undefined, negate = false): this {
    if (!values) return this;
    return this.add(`${column} ${negate ? "NOT IN" : "IN"} (SELECT value FROM json_each(?))`, JSON.stringify(values));
  }

  toString(): string {
    return this.sql.length === 0 ? "" : `WHERE ${this.sql.join(" AND ")}`;
  }
}

/** A LIKE pattern whose only wildcard is `%` (ESCAPE '\'). */
function likePattern(pattern: string): string {
  return pattern.toLowerCase().replace(/[\\_]/g, (c) => `\\${c}`);
}

function mediaTypeCondition(where: Conditions, condition: MediaTypeCondition): void {
  if ("anyOf" in condition) where.among(MEDIA_TYPE, condition.anyOf);
  else if ("noneOf" in condition) where.among(MEDIA_TYPE, condition.noneOf, true);
  else if ("like" in condition) where.add(`lower(${MEDIA_TYPE}) LIKE ? ESCAPE '\\'`, likePattern(condition.like));
  else if ("notLike" in condition)
    where.add(`lower(${MEDIA_TYPE}) NOT LIKE ? ESCAPE '\\'`, likePattern(condition.notLike));
  else where.text(MEDIA_TYPE, condition);
}

/** ORDER BY from the keys given (columns from `columns` only), ending with `id` for ties. */
function orderBy<K extends string>(sort: readonly SortKey<K>[], columns: Readonly<Record<K | "id", string>>): string {
  const keys = sort.map((s) => `${columns[s.key]} ${s.desc ? "DESC" : "ASC"}`);
  if (!sort.some((s) => s.key === "id")) keys.push(`${columns.id} ASC`);
  return keys.join(", ");
}

/** The artifacts queries on one connection, synchronous. */
export class ArtifactQueries extends Db {
  private page<R, T>(
    select: string,
    where: Conditions,
    order: string,
    window: Window,
    map: (row: R) => T,
    countFrom: string,
  ): Listing<T> {
    const rows = this.rows<R>(
      `${select} ${where.toString()} ORDER BY ${order} LIMIT ? OFFSET ?`,
      ...where.params,
      Math.max(0, Math.floor(window.limit)),
      Math.max(0, Math.floor(window.offset)),
    );
    const total = this.row<{ n: number }>(
      `SELECT count(*) AS n FROM ${countFrom} ${where.toString()}`,
      ...where.params,
    )?.n;
    return { items: rows.map(map), total: total ?? 0 };
  }

  artifactCounts(): ArtifactCount[] {
    return this.rows<{ project: string; media_type: string; n: number }>(
      `SELECT substr(m.repository, 1, instr(m.repository, '/') - 1) AS project, ${MEDIA_TYPE} AS media_type,
              count(*) AS n
         FROM manifests m WHERE instr(m.repository, '/') > 1
         GROUP BY 1, 2 ORDER BY 1, 2`,
    ).map((row) => ({ project: row.project, mediaType: row.media_type, count: row.n }));
  }

  repository(name: string): RepositoryRecord | undefined {
    const row = this.row<RepositoryRow>(`${REPOSITORY_SELECT} WHERE r.name = ?`, name);
    return row && toRepository(row);
  }

  repositories(query: RepositoryQuery, window: Window): Listing<RepositoryRecord> {
    const where = new Conditions();
    const [only, ...more] = query.projects ?? [];
    if (query.projects && query.projects.length === 0) where.add("0");
    else if (only !== undefined && more.length === 0) {
      // The names in ["p/", "p0"): '0' follows '/' in ASCII; unlike LIKE, no wildcards, and indexed.
      where.add("r.name > ? AND r.name < ?", `${only}/`, `${only}0`);
    } else where.among("substr(r.name, 1, instr(r.name, '/') - 1)", query.projects);
    where.text("r.name", query.name).among("r.id", query.ids);
    return this.page(
      REPOSITORY_SELECT,
      where,
      orderBy(query.sort, REPOSITORY_ORDER),
      window,
      toRepository,
      "repositories r",
    );
  }

  describeRepository(name: string, description: string, at: Date): RepositoryRecord | undefined {
    const changed = this.run(
      "UPDATE repositories SET description = ?, updated_at = ? WHERE name = ?",
      description,
      at.getTime(),
      name,
    );
    return changed === 0 ? undefined : this.repository(name);
  }

  artifact(repository: string, digest: string): ArtifactRecord | undefined {
    const row = this.row<ArtifactRow>(
      `SELECT ${ARTIFACT_COLUMNS} FROM manifests m WHERE m.repository = ? AND m.digest = ?`,
      repository,
      digest,
    );
    return row && toArtifact(row);
  }

  artifacts(repository: string, query: ArtifactQuery, window: Window): Listing<ArtifactRecord> {
    const where = new Conditions().add("m.repository = ?", repository);
    where.add("m.subject IS NULL").add(`NOT ${COSIGN_SIGNATURE}`);
    if (!query.all) where.add(`(${TAGGED} OR NOT ${IN_AN_INDEX})`);
    if (query.tagged === true) where.add(TAGGED);
    if (query.tagged === false) where.add(`NOT ${TAGGED} AND NOT ${IN_AN_INDEX}`);
    if (query.tag) {
      const name = query.tag.fuzzy ? "instr(lower(t.name), lower(?)) > 0" : "t.name = ?";
      where.add(
        `EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest AND ${name})`,
        query.tag.value,
      );
    }
    where.text("m.digest", query.digest).text("m.media_type", query.manifestMediaType);
    where.text("m.artifact_type", query.artifactType).among("m.id", query.ids);
    for (const condition of query.mediaType ?? []) mediaTypeCondition(where, condition);
    if (query.pushed?.from) where.add("m.created_at >= ?", query.pushed.from.getTime());
    if (query.pushed?.to) where.add("m.created_at <= ?", query.pushed.to.getTime());
    return this.page(
      `SELECT ${ARTIFACT_COLUMNS} FROM manifests m`,
      where,
      orderBy(query.sort, ARTIFACT_ORDER),
      window,
      toArtifact,
      "manifests m",
    );
  }

  tags(repository: string, query: TagQuery, window: Window): Listing<TagEntry> {
    const where = new Conditions().add("t.repository = ?", repository);
    if (query.digest !== undefined) where.add("t.digest = ?", query.digest);
    where.text("t.name", query.name);
    return this.page(TAG_SELECT, where, orderBy(query.sort, TAG_ORDER), window, toTag, "tags t");
  }

  createTag(repository: string, name: string, digest: string, at: Date): TagEntry {
    try {
      this.run(
        "INSERT INTO tags (repository, name, digest, updated_at) VALUES (?, ?, ?, ?)",
        repository,
        name,
        digest,
        at.getTime(),
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(`tag ${name} already exists under the repository ${repository}`, { cause: error });
      }
      throw error;
    }
    const row = this.row<TagRow>(`${TAG_SELECT} WHERE t.repository = ? AND t.name = ?`, repository, name);
    if (!row) throw new Error(`tag ${name} was created but is not found`);
    return toTag(row);
  }

  deleteTag(repository: string, name: string, digest: string): boolean {
    return this.run("DELETE FROM tags WHERE repository = ? AND name = ? AND digest = ?", repository, name, digest) > 0;
  }
}

function isUniqueViolation(error: unknown): boolean {
  // 2067 is SQLITE_CONSTRAINT_UNIQUE, the extended result code node:sqlite puts in `errcode`.
  return (
    error instanceof Error &&
    ((error as { errcode?: unknown }).errcode === 2067 || error.message.includes("UNIQUE constraint failed"))
  );
}

function toRepository(row: RepositoryRow): RepositoryRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
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
    ...(row.annotations !== null && { annotations: JSON.parse(row.annotations) as Record<string, string> }),
    ...(row.config_media_type !== null && { configMediaType: row.config_media_type }),
    createdAt: new Date(row.created_at),
  };
}

function toTag(row: TagRow): TagEntry {
  return {
    id: row.id,
    repository: row.repository,
    name: row.name,
    digest: row.digest,
    updatedAt: new Date(row.updated_at),
    artifactId: row.artifact_id,
  };
}

type ArtifactRun = <T>(query: (queries: ArtifactQueries) => T) => Promise<T>;

/** The artifacts area, reads through `read` and writes (one transaction each) through `write`. */
export function bindArtifactArea(read: ArtifactRun, write: ArtifactRun): ArtifactMetadata {
  return {
    repository: (name) => read((q) => q.repository(name)),
    repositories: (query, window) => read((q) => q.repositories(query, window)),
    describeRepository: (name, description, at) => write((q) => q.describeRepository(name, description, at)),
    artifact: (repository, digest) => read((q) => q.artifact(repository, digest)),
    artifacts: (repository, query, window) => read((q) => q.artifacts(repository, query, window)),
    tags: (repository, query, window) => read((q) => q.tags(repository, query, window)),
    createTag: (repository, name, digest, at) => write((q) => q.createTag(repository, name, digest, at)),
    deleteTag: (repository, name, digest) => write((q) => q.deleteTag(repository, name, digest)),
    artifactCounts: () => read((q) => q.artifactCounts()),
  };
}
