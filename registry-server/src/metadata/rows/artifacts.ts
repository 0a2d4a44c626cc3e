// The artifacts area's rows (ArtifactMetadata in artifact-store.ts), as both backends read them:
// repositories, manifests and tags with the ids Harbor's API knows them by, and the filtered,
// sorted listings of Harbor's `q` and `sort`, written once for both backends.

import type {
  ArtifactCount,
  ArtifactQuery,
  ArtifactRecord,
  ArtifactSortKey,
  MediaTypeCondition,
  RepositoryQuery,
  RepositoryRecord,
  RepositorySortKey,
  TagEntry,
  TagQuery,
  TagSortKey,
} from "../artifact-store.ts";
import { toManifest, type ManifestRow } from "./manifests.ts";
import {
  Conditions,
  likePattern,
  orderBy,
  textMatch,
  type Dialect,
  type ListingQuery,
  type RowReader,
  type StoredTime,
} from "./sql.ts";

export interface RepositoryRow {
  id: number;
  name: string;
  description: string;
  created_at: StoredTime;
  updated_at: StoredTime;
}

/** A repository's update time is its creation's until its record changes. */
export const REPOSITORY_COLUMNS =
  "r.id, r.name, r.description, r.created_at, coalesce(r.updated_at, r.created_at) AS updated_at";

export function toRepository(row: RepositoryRow, r: RowReader): RepositoryRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: r.date(row.created_at),
    updatedAt: r.date(row.updated_at),
  };
}

export interface ArtifactRow extends ManifestRow {
  id: number;
}

export const ARTIFACT_COLUMNS =
  "m.id, m.repository, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.created_at, m.config_media_type";

export function toArtifact(row: ArtifactRow, r: RowReader): ArtifactRecord {
  return { id: row.id, ...toManifest(row, r) };
}

export interface TagEntryRow {
  id: number;
  repository: string;
  name: string;
  digest: string;
  updated_at: StoredTime;
  artifact_id: number;
}

export const TAG_ENTRY_COLUMNS = "t.id, t.repository, t.name, t.digest, t.updated_at, m.id AS artifact_id";
export const TAG_ENTRY_FROM = "tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest";

export function toTagEntry(row: TagEntryRow, r: RowReader): TagEntry {
  return {
    id: row.id,
    repository: row.repository,
    name: row.name,
    digest: row.digest,
    updatedAt: r.date(row.updated_at),
    artifactId: row.artifact_id,
  };
}

export interface ArtifactCountRow {
  project: string;
  media_type: string;
  n: number;
}

export function toArtifactCount(row: ArtifactCountRow): ArtifactCount {
  return { project: row.project, mediaType: row.media_type, count: row.n };
}

/**
 * The media type Harbor reports of manifest `m`: the config's for an image manifest; for an
 * index, the artifact type its annotations name (CNAB bundles), else the manifest's own.
 */
export function mediaTypeOf<V>(d: Dialect<V>): string {
  return `coalesce(m.config_media_type,
  CASE WHEN m.media_type IN ('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')
    THEN nullif(${d.jsonText("m.annotations", "org.opencontainers.artifactType")}, '') END,
  m.media_type)`;
}

// The listing's tests of each manifest, written as sets of the one repository's digests rather
// than as subqueries per manifest: each set is built once per query (a few tags, a few index
// children, a handful of signatures), where a correlated EXISTS ran two or three index lookups
// for every manifest of the repository just to count them (50 ms in a 10,000-artifact one).
type Bind = (value: string) => string;
const tagged = (p: Bind, repository: string) =>
  `m.digest IN (SELECT t.digest FROM tags t WHERE t.repository = ${p(repository)})`;
const inAnIndex = (p: Bind, repository: string) =>
  `m.digest IN (SELECT c.child_digest FROM manifest_child_refs c WHERE c.repository = ${p(repository)})`;
/** cosign's tag for a signature, `sha256-<64 hex>.sig`, naming a manifest of the repository. */
const cosignSignature = (p: Bind, repository: string) => `m.digest IN (SELECT t.digest FROM tags t
    JOIN manifests s ON s.repository = t.repository AND s.digest = 'sha256:' || substr(t.name, 8, 64)
    WHERE t.repository = ${p(repository)}
      AND length(t.name) = 75 AND substr(t.name, 1, 7) = 'sha256-' AND substr(t.name, 72) = '.sig')`;

const REPOSITORY_ORDER: Readonly<Record<RepositorySortKey, string>> = {
  id: "r.id",
  name: "r.name",
  creation_time: "r.created_at",
  update_time: "coalesce(r.updated_at, r.created_at)",
};

function artifactOrder<V>(d: Dialect<V>): Readonly<Record<ArtifactSortKey, string>> {
  return {
    id: "m.id",
    push_time: "m.created_at",
    digest: "m.digest",
    media_type: d.bytewise(mediaTypeOf(d)),
    manifest_media_type: d.bytewise("m.media_type"),
    artifact_type: "coalesce(m.artifact_type, '')",
  };
}

const TAG_ORDER: Readonly<Record<TagSortKey, string>> = { id: "t.id", name: "t.name", push_time: "t.updated_at" };

/** Repositories under `query` (of some projects, by name, by id), sorted as it asks. */
export function repositoryListing<V>(d: Dialect<V>, query: RepositoryQuery): ListingQuery<V> {
  const where = new Conditions(d);
  const [only, ...more] = query.projects ?? [];
  if (query.projects?.length === 0) where.add("FALSE");
  // One project: a range of names, which the name's index serves.
  else if (only !== undefined && more.length === 0) where.inProject("r.name", only);
  else if (query.projects) where.add(d.contains("r.name", "'/'")).among(d.firstSegment("r.name"), query.projects);
  where.text("r.name", query.name).among("r.id", query.ids);
  return { columns: REPOSITORY_COLUMNS, from: "repositories r", where, order: orderBy(query.sort, REPOSITORY_ORDER) };
}

function mediaTypeCondition<V>(where: Conditions<V>, condition: MediaTypeCondition): void {
  const mediaType = mediaTypeOf(where.dialect);
  if ("anyOf" in condition) where.among(mediaType, condition.anyOf);
  else if ("noneOf" in condition) where.among(mediaType, condition.noneOf, true);
  else if ("like" in condition)
    where.add((p) => `lower(${mediaType}) LIKE ${p(likePattern(condition.like))} ESCAPE '\\'`);
  else if ("notLike" in condition) {
    where.add((p) => `lower(${mediaType}) NOT LIKE ${p(likePattern(condition.notLike))} ESCAPE '\\'`);
  } else where.text(mediaType, condition);
}

/**
 * The repository's artifacts under `query`. Accessories are never listed, as in Harbor: a manifest
 * with a subject, or one tagged as cosign's signature of a manifest of the repository.
 */
export function artifactListing<V>(d: Dialect<V>, repository: string, query: ArtifactQuery): ListingQuery<V> {
  const where = new Conditions(d).equals("m.repository", repository);
  where.add("m.subject IS NULL").add((p) => `NOT ${cosignSignature(p, repository)}`);
  if (!query.all) where.add((p) => `(${tagged(p, repository)} OR NOT ${inAnIndex(p, repository)})`);
  if (query.tagged === true) where.add((p) => tagged(p, repository));
  if (query.tagged === false) where.add((p) => `NOT ${tagged(p, repository)} AND NOT ${inAnIndex(p, repository)}`);
  const tag = query.tag;
  if (tag) {
    where.add(
      (p) =>
        `EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest AND ${textMatch(d, "t.name", tag, p)})`,
    );
  }
  where.text("m.digest", query.digest).text("m.media_type", query.manifestMediaType);
  where.text("m.artifact_type", query.artifactType).among("m.id", query.ids);
  for (const condition of query.mediaType ?? []) mediaTypeCondition(where, condition);
  const { from, to } = query.pushed ?? {};
  if (from) where.add((p) => `m.created_at >= ${p(d.time(from))}`);
  if (to) where.add((p) => `m.created_at <= ${p(d.time(to))}`);
  return { columns: ARTIFACT_COLUMNS, from: "manifests m", where, order: orderBy(query.sort, artifactOrder(d)) };
}

/** The repository's tags under `query` (of one manifest, by name), sorted as it asks. */
export function tagListing<V>(d: Dialect<V>, repository: string, query: TagQuery): ListingQuery<V> {
  const where = new Conditions(d).equals("t.repository", repository);
  if (query.digest !== undefined) where.equals("t.digest", query.digest);
  where.text("t.name", query.name);
  // Every tag has its manifest (a foreign key), so the count needs no join.
  return {
    columns: TAG_ENTRY_COLUMNS,
    from: TAG_ENTRY_FROM,
    countFrom: "tags t",
    where,
    order: orderBy(query.sort, TAG_ORDER),
  };
}
