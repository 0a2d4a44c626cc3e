// The check before writes that tag immutability is: a push that would point an existing immutable
// tag anywhere (Harbor refuses even the same digest again: the tag exists and a rule matches) and
// a delete of a manifest carrying an immutable tag are refused with ImmutableTagError, which the
// HTTP layer answers with Harbor's 412 and message (http/app.ts). A new tag is never refused:
// immutability protects what exists. Rules are read from the store at each check, so a rule
// added on one replica holds on every other at once.

import type { ImmutableRuleMetadata } from "../metadata/lifecycle-store.ts";
import type { ProjectMetadataArea } from "../metadata/identity-store.ts";
import { immutableRuleSchema, type ImmutableRule } from "./immutable-rule.ts";
import { isArtifactImmutable } from "./immutable-match.ts";

/** Rules per project read at most: Harbor's portal makes a handful. */
const MAX_RULES = 1_000;

/** A write would move or remove an immutable tag. The message is Harbor's (its middleware's). */
export class ImmutableTagError extends Error {
  override name = "ImmutableTagError";
  /** The repository without its project, as Harbor names it. */
  readonly repository: string;
  readonly tag: string;

  constructor(repository: string, tag: string) {
    super(`Failed to process request due to '${repository}:${tag}' configured as immutable.`);
    this.repository = repository;
    this.tag = tag;
  }
}

/** Harbor's message when its API refuses to delete an immutable tag (or the artifact carrying it). */
export function immutableDeleteMessage(tag: string): string {
  return `the tag ${tag} configured as immutable, cannot be deleted`;
}

export type ImmutabilityStore = {
  readonly projects: Pick<ProjectMetadataArea, "getByName">;
  readonly immutableRules: Pick<ImmutableRuleMetadata, "list">;
};

/** `library/team/app` → project `library`, repository `team/app`. */
export function splitRepository(name: string): { project: string; repository: string } {
  const slash = name.indexOf("/");
  return slash < 0
    ? { project: "", repository: name }
    : { project: name.slice(0, slash), repository: name.slice(slash + 1) };
}

export class ImmutableTagGuard {
  private readonly store: ImmutabilityStore;

  constructor(store: ImmutabilityStore) {
    this.store = store;
  }

  /** The project's rules, enabled or not, parsed. */
  async rules(project: string): Promise<ImmutableRule[]> {
    const found = await this.store.projects.getByName(project);
    if (!found) return [];
    const listing = await this.store.immutableRules.list(found.id, { offset: 0, limit: MAX_RULES });
    return listing.items.map((record) => ({
      ...immutableRuleSchema.parse(JSON.parse(record.rule)),
      id: record.id,
      project_id: record.projectId,
      disabled: record.disabled,
      priority: record.priority,
    }));
  }

  /** The first of `tags` of `name` (a full repository name) that a rule makes immutable. */
  async immutableTag(name: string, tags: readonly string[]): Promise<string | undefined> {
    if (tags.length === 0) return undefined;
    const { project, repository } = splitRepository(name);
    const rules = await this.rules(project);
    if (rules.length === 0) return undefined;
    return tags.find((tag) => isArtifactImmutable(rules, repository, [tag]));
  }

  /** Which of `tags` of `name` (a full repository name) a rule makes immutable. */
  async immutableTags(name: string, tags: readonly string[]): Promise<Set<string>> {
    if (tags.length === 0) return new Set();
    const { project, repository } = splitRepository(name);
    const rules = await this.rules(project);
    return new Set(tags.filter((tag) => isArtifactImmutable(rules, repository, [tag])));
  }

  /** Throws ImmutableTagError when one of `tags` of `name` is immutable. */
  async assertMutable(name: string, tags: readonly string[]): Promise<void> {
    const tag = await this.immutableTag(name, tags);
    if (tag !== undefined) throw new ImmutableTagError(splitRepository(name).repository, tag);
  }
}
