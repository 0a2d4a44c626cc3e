// Harbor's `q` and `sort` for the content listings (repositories, artifacts, tags), turned into
// the store's queries (metadata/artifact-store.ts). As Harbor's ORM does, keys a listing does not
// know are ignored, in `q` as in `sort`; values Harbor refuses (`tags=latest`, `base=x`) are
// refused with its messages. `sort` is comma-separated keys, `-` before a key for descending.

import { HarborError } from "../http/errors.ts";
import type {
  ArtifactQuery,
  ArtifactSortKey,
  MediaTypeCondition,
  RepositoryQuery,
  RepositorySortKey,
  SortKey,
  TagQuery,
  TagSortKey,
  TextMatch,
} from "../metadata/artifact-store.ts";
import { parseQuery, queryTime, type QueryTerm } from "./harbor-http.ts";
import { ARTIFACT_MEDIA_TYPES } from "./artifact-types.ts";

interface TermList {
  readonly op: "or" | "and";
  readonly values: readonly string[];
}

/** A term's `{a b}` or `(a b)` list, where harbor-http.ts reads Harbor's list forms. */
function listOf(term: QueryTerm): TermList | undefined {
  const list = (term as { readonly list?: unknown }).list;
  return typeof list === "object" && list !== null ? (list as TermList) : undefined;
}

/** The sort keys of `sort` a listing knows (by Harbor's column names), in order. */
export function parseSort<K extends string>(url: URL, known: Readonly<Record<string, K>>): SortKey<K>[] {
  const text = url.searchParams.get("sort");
  if (!text) return [];
  const keys: SortKey<K>[] = [];
  for (const part of text.split(",")) {
    const trimmed = part.trim();
    const desc = trimmed.startsWith("-");
    const key = known[desc ? trimmed.slice(1) : trimmed];
    if (key !== undefined && !keys.some((k) => k.key === key)) keys.push({ key, desc });
  }
  return keys;
}

/** An exact or fuzzy term as a text condition; lists and ranges are not for text fields here. */
function textTerm(key: string, term: QueryTerm | undefined): TextMatch | undefined {
  if (!term) return undefined;
  if (listOf(term) || term.range) throw new HarborError("BAD_REQUEST", `lists and ranges are not supported for ${key}`);
  return { value: term.value, fuzzy: term.fuzzy };
}

/** `id=3` or `id={3 4}` as ids; a value that is not a number matches nothing. */
function idsTerm(term: QueryTerm | undefined): number[] | undefined {
  if (!term || term.fuzzy || term.range) return undefined;
  const values = listOf(term)?.values ?? [term.value];
  return values.filter((v) => /^\d+$/.test(v)).map(Number);
}

/** Whether `project_id=…` / `repository_id=…`-like terms exclude the one value they may take. */
function excludes(term: QueryTerm | undefined, value: string | number): boolean {
  if (!term || term.range) return false;
  if (term.fuzzy) return !String(value).includes(term.value);
  const values = listOf(term)?.values ?? [term.value];
  return !values.includes(String(value));
}

/** Harbor's default order for repositories: newest first. */
const REPOSITORY_DEFAULT: readonly SortKey<RepositorySortKey>[] = [
  { key: "creation_time", desc: true },
  { key: "id", desc: true },
];

export function repositoryQuery(url: URL, projects?: readonly string[]): RepositoryQuery {
  const terms = parseQuery(url);
  const sort = parseSort<RepositorySortKey>(url, {
    id: "id",
    repository_id: "id",
    name: "name",
    creation_time: "creation_time",
    update_time: "update_time",
  });
  const name = textTerm("name", terms.get("name"));
  const ids = idsTerm(terms.get("id") ?? terms.get("repository_id"));
  return {
    ...(projects && { projects }),
    ...(name && { name }),
    ...(ids && { ids }),
    sort: sort.length > 0 ? sort : REPOSITORY_DEFAULT,
  };
}

/** Harbor's default order for artifacts: last pushed first. */
const ARTIFACT_DEFAULT: readonly SortKey<ArtifactSortKey>[] = [
  { key: "push_time", desc: true },
  { key: "id", desc: true },
];

/**
 * The artifact listing's query. `type` is matched through the media types that make each type
 * (artifact-types.ts), as Harbor stores the type its processors derive from the media type.
 */
export function artifactQuery(
  url: URL,
  context: { projectId: number; repositoryId: number; repository: string },
): ArtifactQuery {
  const terms = parseQuery(url, { ranges: ["push_time"] });
  const sort = parseSort<ArtifactSortKey>(url, {
    id: "id",
    push_time: "push_time",
    digest: "digest",
    media_type: "media_type",
    manifest_media_type: "manifest_media_type",
    artifact_type: "artifact_type",
  });
  const query: {
    -readonly [K in keyof ArtifactQuery]: ArtifactQuery[K];
  } = { sort: sort.length > 0 ? sort : ARTIFACT_DEFAULT };

  const base = terms.get("base");
  if (base) {
    if (base.fuzzy || listOf(base) || base.range || base.value !== "*") {
      throw new HarborError("BAD_REQUEST", 'the value of "base" query can only be exact match value with "*"');
    }
    query.all = true;
  }
  const tags = terms.get("tags");
  if (tags) {
    const plain = !listOf(tags) && !tags.range;
    if (plain && tags.fuzzy) query.tag = { value: tags.value, fuzzy: true };
    else if (plain && tags.value === "*") query.tagged = true;
    else if (plain && tags.value === "nil") query.tagged = false;
    else {
      throw new HarborError(
        "BAD_REQUEST",
        'the value of "tags" query can only be fuzzy match value or exact match value with "*" and "nil"',
      );
    }
  }
  const digest = textTerm("digest", terms.get("digest"));
  if (digest) query.digest = digest;
  const manifestMediaType = textTerm("manifest_media_type", terms.get("manifest_media_type"));
  if (manifestMediaType) query.manifestMediaType = manifestMediaType;
  const artifactType = textTerm("artifact_type", terms.get("artifact_type"));
  if (artifactType) query.artifactType = artifactType;
  const mediaType: MediaTypeCondition[] = [];
  const media = textTerm("media_type", terms.get("media_type"));
  if (media) mediaType.push(media);
  const type = textTerm("type", terms.get("type"));
  if (type) mediaType.push(...typeConditions(type));
  if (mediaType.length > 0) query.mediaType = mediaType;
  const ids = idsTerm(terms.get("id"));
  if (ids) query.ids = ids;
  const pushed = terms.get("push_time")?.range;
  if (pushed) {
    query.pushed = {
      ...(pushed.from !== undefined && { from: queryTime(pushed.from, "push_time") }),
      ...(pushed.to !== undefined && { to: queryTime(pushed.to, "push_time") }),
    };
  }
  // Keys naming the repository itself match all of its artifacts or none.
  if (
    excludes(terms.get("project_id"), context.projectId) ||
    excludes(terms.get("repository_id"), context.repositoryId) ||
    excludes(terms.get("repository_name"), context.repository)
  ) {
    query.ids = [];
  }
  return query;
}

/**
 * `type=…` as conditions on the media type: the media types of a known type, none of them for
 * UNKNOWN, and for another type the config media type Harbor's default processor reads it from
 * (`application/vnd.<vendor>.<type>.config.<version>+json`).
 */
function typeConditions(type: TextMatch): MediaTypeCondition[] {
  if (type.fuzzy) {
    const known = Object.entries(ARTIFACT_MEDIA_TYPES)
      .filter(([name]) => name.toLowerCase().includes(type.value.toLowerCase()))
      .flatMap(([, mediaTypes]) => mediaTypes);
    return [{ anyOf: known }];
  }
  const wanted = type.value.toUpperCase();
  const all = Object.values(ARTIFACT_MEDIA_TYPES).flat();
  if (wanted === "UNKNOWN") return [{ noneOf: all }, { notLike: "application/vnd.%.%.config.%+json" }];
  const known = ARTIFACT_MEDIA_TYPES[wanted];
  if (known) return [{ anyOf: known }];
  return [{ noneOf: all }, { like: `application/vnd.%.${wanted.toLowerCase()}.config.%+json` }];
}

export function tagQuery(url: URL, digest: string): TagQuery {
  const terms = parseQuery(url);
  const sort = parseSort<TagSortKey>(url, { id: "id", name: "name", push_time: "push_time" });
  const name = textTerm("name", terms.get("name"));
  return { digest, ...(name && { name }), sort };
}
