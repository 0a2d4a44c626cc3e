// The artifacts area of the metadata store: the registry's content as Harbor's management API
// shows it. The content areas (metadata-store.ts) serve /v2 by name and digest; this area adds
// what Harbor's clients see besides: numeric ids for repositories, artifacts (a manifest in a
// repository) and tags, a repository's description, and the filtered, sorted, paged listings of
// Harbor's `q` and `sort`, which must run in the database for their totals to be right.
//
// Ids are assigned by the store when the row is first written and never handed out again (SQLite
// AUTOINCREMENT, PostgreSQL identity columns), so a deleted artifact's id cannot come to mean a
// new one in a client's hands. Putting a manifest or a tag again keeps its id.
// The contract suite in test/contracts/artifact-store-contract.ts pins these semantics down.

import type { Listing, Window } from "./identity-store.ts";
import type { ManifestRecord, TagRecord } from "./metadata-store.ts";

/** A text field's condition: equal to `value`, or (fuzzy) containing it, ignoring ASCII case. */
export interface TextMatch {
  readonly value: string;
  readonly fuzzy: boolean;
}

/** One key of a listing's order. */
export interface SortKey<K extends string> {
  readonly key: K;
  readonly desc: boolean;
}

export interface RepositoryRecord {
  readonly id: number;
  /** The full name, `<project>/<rest>`. */
  readonly name: string;
  /** Empty until set through the API. */
  readonly description: string;
  readonly createdAt: Date;
  /** The last change to the repository's own record (its description), else its creation. */
  readonly updatedAt: Date;
}

export type RepositorySortKey = "id" | "name" | "creation_time" | "update_time";

export interface RepositoryQuery {
  /** Only the repositories of these projects (named `<project>/…`); every project when absent. */
  readonly projects?: readonly string[];
  readonly name?: TextMatch;
  readonly ids?: readonly number[];
  /** Ties (and an empty order) fall back to the id, ascending. */
  readonly sort: readonly SortKey<RepositorySortKey>[];
}

/** A manifest of a repository with the id the management API knows it by. */
export interface ArtifactRecord extends ManifestRecord {
  readonly id: number;
}

/**
 * A condition on an artifact's media type as Harbor reports it: the config's media type of an
 * image manifest, the manifest's own media type for an index.
 */
export type MediaTypeCondition =
  | TextMatch
  | { readonly anyOf: readonly string[] }
  | { readonly noneOf: readonly string[] }
  /** SQL LIKE on the lower-cased media type: `%` for any text, nothing else special. */
  | { readonly like: string }
  | { readonly notLike: string };

export type ArtifactSortKey = "id" | "push_time" | "digest" | "media_type" | "manifest_media_type" | "artifact_type";

export interface ArtifactQuery {
  /**
   * Harbor's `base=*`: every manifest. Otherwise what Harbor lists as the repository's artifacts:
   * the tagged ones, and the untagged ones no index of the repository lists.
   */
  readonly all?: boolean;
  /** true: only tagged manifests; false: only untagged ones no index lists (Harbor's `tags=nil`). */
  readonly tagged?: boolean;
  /** Only manifests with a tag whose name matches. */
  readonly tag?: TextMatch;
  readonly digest?: TextMatch;
  /** Every condition must hold. */
  readonly mediaType?: readonly MediaTypeCondition[];
  readonly manifestMediaType?: TextMatch;
  readonly artifactType?: TextMatch;
  readonly ids?: readonly number[];
  /** Push time within these bounds, both inclusive. */
  readonly pushed?: { readonly from?: Date; readonly to?: Date };
  /** Ties (and an empty order) fall back to the id, ascending. */
  readonly sort: readonly SortKey<ArtifactSortKey>[];
}

/** A tag with the ids the management API knows it and its artifact by. */
export interface TagEntry extends TagRecord {
  readonly id: number;
  /** The id of the manifest the tag points at. */
  readonly artifactId: number;
}

export type TagSortKey = "id" | "name" | "push_time";

export interface TagQuery {
  /** Only the tags pointing at this manifest. */
  readonly digest?: string;
  readonly name?: TextMatch;
  /** Ties (and an empty order) fall back to the id, ascending. */
  readonly sort: readonly SortKey<TagSortKey>[];
}

/** How many artifacts (manifests) of a project have one media type, as Harbor reports it. */
export interface ArtifactCount {
  /** The project: the first segment of the repositories' names. */
  readonly project: string;
  /** The config's media type of an image manifest; an index's annotated artifact type, else its own. */
  readonly mediaType: string;
  readonly count: number;
}

export interface ArtifactMetadata {
  repository(name: string): Promise<RepositoryRecord | undefined>;
  repositories(query: RepositoryQuery, window: Window): Promise<Listing<RepositoryRecord>>;
  /** Sets a repository's description (and its update time); undefined when there is none. */
  describeRepository(name: string, description: string, at: Date): Promise<RepositoryRecord | undefined>;

  artifact(repository: string, digest: string): Promise<ArtifactRecord | undefined>;
  /**
   * The repository's artifacts under `query`. Accessories are never listed, as in Harbor: a
   * manifest with a subject, or one tagged `sha256-<hex>.sig` after a manifest of the
   * repository (cosign's signatures without the referrers API).
   */
  artifacts(repository: string, query: ArtifactQuery, window: Window): Promise<Listing<ArtifactRecord>>;

  tags(repository: string, query: TagQuery, window: Window): Promise<Listing<TagEntry>>;
  /**
   * Creates a tag on a manifest of the repository; a ConflictError when the repository has a
   * tag of that name already, whichever manifest it points at (tags are moved by pushes only).
   */
  createTag(repository: string, name: string, digest: string, at: Date): Promise<TagEntry>;
  /** Deletes a tag if it points at `digest`; false otherwise. */
  deleteTag(repository: string, name: string, digest: string): Promise<boolean>;

  /**
   * Every project's artifacts by media type, ordered by project and media type: every manifest,
   * accessories and an index's children included (Harbor counts them all); one grouped query.
   */
  artifactCounts(): Promise<ArtifactCount[]>;
}
