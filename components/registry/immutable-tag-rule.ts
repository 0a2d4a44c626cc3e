// An immutable tag rule of a project (Harbor's `/projects/{project}/immutabletagrules`): a tag
// that the rule's repository and tag patterns select cannot be pushed again, retagged or
// deleted. The rule's id comes from the Location of its creation; Harbor has no GET of one rule,
// so `read` finds it in the project's list: a rule changed by hand shows as drift in
// `pulumi refresh`, one deleted by hand disappears from the state, and the next `up` puts it
// back. Harbor refuses a rule the same as one the project has (409): `adopt` takes that one over.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, createdId, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import {
  MATCH_ALL,
  harborSelector,
  normaliseSelector,
  selectorFromHarbor,
  type PatternSelector,
} from "./pattern-selector";
import { declaredBy, declaredProvider } from "./declaration";

export interface ImmutableTagRuleArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The project's name. */
  project: pulumi.Input<string>;
  /** Repositories the rule protects, by name without the project. Default `{ matches: "**" }`. */
  repositories?: pulumi.Input<PatternSelector>;
  /** Tags the rule protects, e.g. `{ matches: "v*" }`. */
  tags: pulumi.Input<PatternSelector>;
  /** A disabled rule protects nothing. Default false. */
  disabled?: pulumi.Input<boolean>;
  /** Take over a rule the same as this one that the project already has, instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

export interface ImmutableTagRuleInputs {
  connection: RegistryConnection;
  project: string;
  repositories: PatternSelector;
  tags: PatternSelector;
  disabled: boolean;
  adopt: boolean;
}

export interface ImmutableTagRuleOutputs extends ImmutableTagRuleInputs {
  ruleId: number;
}

/**
 * Validates the known inputs and fills the defaults. Unknown values (the connection or the project
 * in a preview, see ../unknowns.ts) are passed on as they are and checked once known.
 */
export function checkImmutableTagRule(
  news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<ImmutableTagRuleInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const project = news["project"];
  if (!isUnknown(project) && (typeof project !== "string" || project === "")) {
    fail("project", `expected a project name, got ${JSON.stringify(project)}`);
  }
  const selector = (key: "repositories" | "tags", fallback: PatternSelector | undefined): PatternSelector =>
    keepUnknown(news[key], (value) => {
      const normalised = normaliseSelector(value, fallback);
      if (normalised.problem !== undefined) fail(key, normalised.problem);
      return normalised.selector ?? (value as PatternSelector);
    });
  const flag = (key: "disabled" | "adopt"): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      project: keepUnknown(project, String),
      repositories: selector("repositories", MATCH_ALL),
      tags: selector("tags", undefined),
      disabled: flag("disabled"),
      adopt: flag("adopt"),
    },
    failures,
  };
}

/** The rule as Harbor's API carries it. */
export function immutableRuleBody(inputs: ImmutableTagRuleInputs, id: number): Record<string, unknown> {
  return {
    id,
    disabled: inputs.disabled,
    priority: 0,
    action: "immutable",
    template: "immutable_template",
    tag_selectors: [harborSelector(inputs.tags, "tags")],
    scope_selectors: { repository: [harborSelector(inputs.repositories, "repositories")] },
  };
}

interface LiveImmutableRule {
  id: number;
  disabled?: boolean;
  tag_selectors?: unknown[] | null;
  scope_selectors?: Record<string, unknown[] | null> | null;
}

/**
 * A live rule's selectors and state as the inputs say them. Several selectors, which the inputs
 * cannot say, come back as a pattern no declared rule has, so that they show as drift.
 */
export function immutableRuleFromHarbor(
  live: LiveImmutableRule,
): Pick<ImmutableTagRuleInputs, "repositories" | "tags" | "disabled"> {
  const odd = (list: unknown[]): PatternSelector => ({
    matches: `(selectors the inputs cannot say: ${JSON.stringify(list)})`,
  });
  const tagList = live.tag_selectors ?? [];
  const repositoryList = live.scope_selectors?.["repository"] ?? [];
  const tags = tagList.length === 1 ? (selectorFromHarbor(tagList[0], "tags") ?? odd(tagList)) : odd(tagList);
  const repositories =
    repositoryList.length === 0
      ? MATCH_ALL
      : repositoryList.length === 1
        ? (selectorFromHarbor(repositoryList[0], "repositories") ?? odd(repositoryList))
        : odd(repositoryList);
  return { repositories, tags, disabled: live.disabled === true };
}

/** The project's rules, every page (bounded). Undefined when the project is gone. */
async function projectRules(connection: RegistryConnection, project: string): Promise<LiveImmutableRule[] | undefined> {
  const rules: LiveImmutableRule[] = [];
  const path = `/projects/${encodeURIComponent(project)}/immutabletagrules`;
  for (let page = 1; page <= 100; page++) {
    const reply = await apiRequest(connection, "GET", `${path}?page=${page}&page_size=100`);
    if (reply.status === 404) return undefined;
    const items = expectStatus(reply, `listing the immutable tag rules of ${project}`, 200).body as LiveImmutableRule[];
    rules.push(...items);
    if (items.length < 100) return rules;
  }
  throw new Error(`listing the immutable tag rules of ${project}: more than 10000`);
}

function sameRule(a: Pick<ImmutableTagRuleInputs, "repositories" | "tags">, live: LiveImmutableRule): boolean {
  const found = immutableRuleFromHarbor(live);
  return JSON.stringify([a.repositories, a.tags]) === JSON.stringify([found.repositories, found.tags]);
}

export const immutableTagRuleProvider: pulumi.dynamic.ResourceProvider<
  ImmutableTagRuleInputs,
  ImmutableTagRuleOutputs
> = {
  async check(_olds, news) {
    return checkImmutableTagRule(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = olds.project !== news.project ? ["project"] : [];
    const changes =
      replaces.length > 0 ||
      olds.disabled !== news.disabled ||
      JSON.stringify([olds.repositories, olds.tags]) !== JSON.stringify([news.repositories, news.tags]) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    // The old rule goes first: a replacement the same as it would be refused as a duplicate.
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const path = `/projects/${encodeURIComponent(inputs.project)}/immutabletagrules`;
    const reply = await apiRequest(inputs.connection, "POST", path, immutableRuleBody(inputs, 0));
    const what = `creating an immutable tag rule in ${inputs.project}`;
    if (reply.status === 409 && inputs.adopt) {
      const existing = (await projectRules(inputs.connection, inputs.project))?.find((rule) => sameRule(inputs, rule));
      if (!existing) throw new Error(`${what}: it conflicts with a rule that cannot be found`);
      const ruleId = existing.id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `${path}/${ruleId}`, immutableRuleBody(inputs, ruleId)),
        `adopting immutable tag rule ${ruleId} of ${inputs.project}`,
        200,
      );
      return { id: String(ruleId), outs: { ...inputs, ruleId } };
    }
    const conflict = reply.status === 409 ? " (the project has the same rule: set adopt to take it over)" : "";
    const ruleId = createdId(expectStatus(reply, `${what}${conflict}`, 201), what);
    return { id: String(ruleId), outs: { ...inputs, ruleId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const live = (await projectRules(props.connection, props.project))?.find((rule) => String(rule.id) === id);
    // Deleted by hand, or with its project: an empty id tells the engine the rule is gone.
    if (!live) return { id: "", props };
    const inputs: ImmutableTagRuleInputs = {
      connection: props.connection,
      project: props.project,
      adopt: props.adopt,
      ...immutableRuleFromHarbor(live),
    };
    return { id, props: { ...inputs, ruleId: Number(id) }, inputs: readInputs<ImmutableTagRuleOutputs>(inputs) };
  },

  async update(id, _olds, news) {
    const path = `/projects/${encodeURIComponent(news.project)}/immutabletagrules/${id}`;
    const reply = await apiRequest(news.connection, "PUT", path, immutableRuleBody(news, Number(id)));
    const gone = reply.status === 404 ? " (it is gone: run `pulumi refresh`, then `pulumi up` creates it again)" : "";
    expectStatus(reply, `updating immutable tag rule ${id} of ${news.project}${gone}`, 200);
    return { outs: { ...news, ruleId: Number(id) } };
  },

  async delete(id, props) {
    const path = `/projects/${encodeURIComponent(props.project)}/immutabletagrules/${id}`;
    expectStatus(
      await apiRequest(props.connection, "DELETE", path),
      `deleting immutable tag rule ${id} of ${props.project}`,
      200,
      404,
    );
  },
};

/** The provider, recording which stack declared the ImmutableTagRule (./declaration.ts). */
const declaredImmutableTagRuleProvider = declaredProvider(
  "immutable_rule",
  (outs, id) => `${outs.project}/${id}`,
  immutableTagRuleProvider,
);

/** An immutable tag rule of a project. */
export class ImmutableTagRule extends pulumi.dynamic.Resource {
  declare readonly ruleId: pulumi.Output<number>;

  constructor(name: string, args: ImmutableTagRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredImmutableTagRuleProvider,
      name,
      {
        declaration: declaredBy(name, "ImmutableTagRule", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        ruleId: undefined,
      },
      opts,
      "registry",
      "ImmutableTagRule",
    );
  }
}
