// Which stack declared a registry object, recorded in the registry (`/api/v2.0/declarations`,
// beyond Harbor) so that its portal can show it and warn before a change by hand that the stack's
// `pulumi refresh` would report as drift. Written once here for every provider:
//
// - `declaredBy(name, type, opts)`, called in a resource's constructor, gives the `declaration`
//   input: the stack (`<organization>/<project>/<stack>`) and the resource's URN, computed with
//   `pulumi.createUrn` since a dynamic provider is not told its URN (@pulumi/pulumi 3.259);
// - `declaredProvider(kind, keyOf, provider)` wraps a provider: after `create` and `update` (an
//   adoption is a create) it records the declaration under the object's key, after `delete` it
//   removes it (only when it is still this resource's), `check` and `read` carry the input
//   through, and `diff` counts a changed declaration as a change, so that a stack written before
//   declarations existed records them in one update, and never again.
//
// A registry that answers 404 (one older than the route, or an object gone meanwhile) is left
// without a declaration, and the resource's state keeps the input: no perpetual diff. Any other
// failure to record must not fail the resource (after a create, the object would exist outside
// the state): the state then keeps no declaration, so the next `up` tries again. A failure to
// remove one is ignored: the object is gone, and its next declaration replaces the row.
//
// Serialised with the providers that use it: imports only ./api-client.ts (and types). The SDK
// is required inside `declaredBy`, which runs in the program, never in a provider.

import type * as pulumi from "@pulumi/pulumi";
import { apiRequest, stableJson, type RegistryConnection } from "./api-client";

/** What the registry records of the declaring resource. */
export interface Declaration {
  /** `<organization>/<project>/<stack>`. */
  stack: string;
  /** The resource's URN. */
  resource: string;
}

/** The input every declared resource has besides its own. */
export interface DeclaredInputs {
  connection: RegistryConnection;
  /** Absent in state written before declarations existed, and after a failed recording. */
  declaration?: Declaration;
}

/**
 * The stack's organization: the engine always gives one (a DIY backend's is "organization");
 * under `setMocks` without one, the SDK throws, and the DIY default stands in.
 */
function organization(sdk: typeof import("@pulumi/pulumi")): string {
  try {
    return sdk.getOrganization();
  } catch {
    return "organization";
  }
}

/** The `declaration` input of a registry resource of type `pulumi-nodejs:dynamic/registry:<type>`. */
export function declaredBy(
  name: string,
  type: string,
  opts: pulumi.CustomResourceOptions | undefined,
): pulumi.Output<Declaration> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- this module is serialised with the providers
  const sdk = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const urn = sdk.createUrn(name, `pulumi-nodejs:dynamic/registry:${type}`, opts?.parent);
  // The URN is an output of the parent: as an input it would make this resource depend on the
  // parent, and depending on a component waits for all its children, this resource among them
  // (a deadlock). Its value alone is what is wanted.
  const value = new Promise<string>((resolve) => void urn.apply(resolve));
  return sdk.output(
    value.then((resource) => ({ stack: `${organization(sdk)}/${sdk.getProject()}/${sdk.getStack()}`, resource })),
  );
}

function declarationPath(kind: string, key: string): string {
  return `/declarations/${kind}/${encodeURIComponent(key)}`;
}

/**
 * Records the declaration: "written", "skipped" (the registry answered 404: no such route, or no
 * such object) or "failed".
 */
async function record(
  connection: RegistryConnection,
  kind: string,
  key: string,
  declaration: Declaration,
): Promise<"written" | "skipped" | "failed"> {
  try {
    const reply = await apiRequest(connection, "PUT", declarationPath(kind, key), declaration);
    if (reply.status === 200 || reply.status === 201) return "written";
    return reply.status === 404 ? "skipped" : "failed";
  } catch {
    return "failed";
  }
}

/** Removes the declaration of `key` if it is still `declaration` (another stack may have taken the object over). */
async function remove(
  connection: RegistryConnection,
  kind: string,
  key: string,
  declaration: Declaration | undefined,
): Promise<void> {
  if (!declaration) return;
  try {
    const query = `/declarations?kind=${encodeURIComponent(kind)}&key=${encodeURIComponent(key)}`;
    const found = await apiRequest(connection, "GET", query);
    const current = Array.isArray(found.body) ? (found.body[0] as Partial<Declaration> | undefined) : undefined;
    if (found.status !== 200 || current?.stack !== declaration.stack || current.resource !== declaration.resource)
      return;
    await apiRequest(connection, "DELETE", declarationPath(kind, key));
  } catch {
    // Ignored: see the module's comment.
  }
}

/** The outputs with the declaration the registry now holds (or, after a failure, none: retried). */
async function withDeclaration<O extends object>(
  outs: O,
  connection: RegistryConnection,
  kind: string,
  key: string,
  declaration: Declaration | undefined,
): Promise<O & { declaration?: Declaration }> {
  const { declaration: _previous, ...rest } = outs as O & { declaration?: Declaration };
  if (!declaration) return rest as O;
  const outcome = await record(connection, kind, key, declaration);
  return outcome === "failed" ? (rest as O) : { ...(rest as O), declaration };
}

/**
 * `provider`, recording its object's declaration under `kind` and the key `keyOf` gives from the
 * outputs (and the id). See the module's comment.
 */
export function declaredProvider<I extends DeclaredInputs, O extends DeclaredInputs>(
  kind: string,
  keyOf: (outs: O, id: string) => string,
  provider: pulumi.dynamic.ResourceProvider<I, O>,
): pulumi.dynamic.ResourceProvider<I & DeclaredInputs, O & DeclaredInputs> {
  return {
    async check(olds, news) {
      const result = provider.check ? await provider.check(olds, news) : { inputs: news };
      const declaration = (news as Partial<DeclaredInputs>).declaration;
      if (result.inputs === undefined || declaration === undefined) return result;
      return { ...result, inputs: { ...result.inputs, declaration } };
    },

    async diff(id, olds, news) {
      const result = provider.diff ? await provider.diff(id, olds, news) : {};
      if (news.declaration === undefined || stableJson(olds.declaration) === stableJson(news.declaration))
        return result;
      return { ...result, changes: true };
    },

    async create(inputs) {
      const result = await provider.create(inputs);
      const outs = (result.outs ?? inputs) as O;
      const key = keyOf(outs, result.id);
      return { ...result, outs: await withDeclaration(outs, inputs.connection, kind, key, inputs.declaration) };
    },

    ...(provider.read && {
      async read(id: string, props?: O) {
        const result = await provider.read!(id, props);
        const declaration = props?.declaration;
        if (declaration === undefined) return result;
        // The registry's objects say nothing of it: the state's declaration stands.
        return {
          ...result,
          ...(result.props && { props: { ...result.props, declaration } }),
          ...(result.inputs && { inputs: { ...result.inputs, declaration } }),
        };
      },
    }),

    ...(provider.update && {
      async update(id: string, olds: O, news: I) {
        const result = await provider.update!(id, olds, news);
        const outs = result.outs ?? { ...olds, ...news };
        const key = keyOf(outs, id);
        const oldKey = keyOf(olds, id);
        // Renamed (an endpoint, a scanner…): the old name no longer names this object.
        if (oldKey !== key) await remove(news.connection, kind, oldKey, olds.declaration);
        return { ...result, outs: await withDeclaration(outs, news.connection, kind, key, news.declaration) };
      },
    }),

    async delete(id, props) {
      if (provider.delete) await provider.delete(id, props);
      await remove(props.connection, kind, keyOf(props, id), props.declaration);
    },
  };
}
