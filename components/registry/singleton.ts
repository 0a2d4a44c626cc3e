// The provider of a registry-wide setting that exists once (the GC and audit log purge schedules,
// the system CVE allowlist): its id is fixed, `create` takes over whatever is there, `read`
// reports the live value (or, when the setting was cancelled by hand, that the resource is gone,
// so the next `up` sets it again), `update` writes the declared value whole and `delete` resets
// the setting. Each resource gives what differs: how to check its inputs, read, write and reset
// the setting; `scheduleSingleton` adds what Harbor's schedule APIs share.
//
// Declare each such resource once per registry: two would take the one setting from each other.
// Serialised with the providers that use it: imports only ./api-client.ts.

import type * as pulumi from "@pulumi/pulumi";
import { apiRequest, expectStatus, readInputs, stableJson, type RegistryConnection } from "./api-client";

export interface SingletonInputs {
  connection: RegistryConnection;
}

/** What a singleton resource does its own way. */
export interface SingletonSpec<Inputs extends SingletonInputs> {
  /** The resource's fixed id. */
  id: string;
  check(news: Record<string, unknown>): pulumi.dynamic.CheckResult<Inputs>;
  /** The inputs compared in `diff` (besides the connection). */
  keys: ReadonlyArray<Exclude<keyof Inputs, "connection">>;
  /** The live setting in the inputs' words; undefined when there is none. */
  live(connection: RegistryConnection): Promise<Omit<Inputs, "connection"> | undefined>;
  /** Sets it to the inputs, whatever is there. */
  write(inputs: Inputs): Promise<void>;
  /** Resets it (cancels a schedule, empties a list). */
  reset(inputs: Inputs): Promise<void>;
}

/** A dynamic provider for a singleton setting. */
export function singletonProvider<Inputs extends SingletonInputs>(
  spec: SingletonSpec<Inputs>,
): pulumi.dynamic.ResourceProvider<Inputs, Inputs> {
  return {
    async check(_olds, news) {
      return spec.check(news as unknown as Record<string, unknown>);
    },

    async diff(_id, olds, news) {
      const changes =
        spec.keys.some((key) => stableJson(olds[key]) !== stableJson(news[key])) ||
        stableJson(olds.connection) !== stableJson(news.connection);
      return { changes, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
      await spec.write(inputs);
      return { id: spec.id, outs: inputs };
    },

    async read(id, props) {
      if (!props) return { id, props };
      const live = await spec.live(props.connection);
      // Cancelled by hand: an empty id tells the engine the setting is gone.
      if (!live) return { id: "", props };
      const inputs = { ...live, connection: props.connection } as Inputs;
      return { id, props: inputs, inputs: readInputs<Inputs>(inputs) };
    },

    async update(_id, _olds, news) {
      await spec.write(news);
      return { outs: news };
    },

    async delete(_id, props) {
      await spec.reset(props);
    },
  };
}

/** What a schedule singleton gives: its path, its words, and its body and reply mappings. */
export interface ScheduleSpec<Inputs extends SingletonInputs> {
  id: string;
  /** e.g. /system/gc/schedule */
  path: string;
  /** e.g. "the GC schedule", for messages. */
  what: string;
  check: SingletonSpec<Inputs>["check"];
  keys: SingletonSpec<Inputs>["keys"];
  body(inputs: Inputs): Record<string, unknown>;
  fromHarbor(live: { schedule?: { cron?: unknown } | null; job_parameters?: unknown }): Omit<Inputs, "connection">;
}

/**
 * A Harbor schedule API (`GET`, `POST` to create, `PUT` to change, `type: None` to cancel; an
 * empty reply or type None means no schedule) as a singleton provider.
 */
export function scheduleSingleton<Inputs extends SingletonInputs>(
  spec: ScheduleSpec<Inputs>,
): pulumi.dynamic.ResourceProvider<Inputs, Inputs> {
  const live = async (connection: RegistryConnection): Promise<Omit<Inputs, "connection"> | undefined> => {
    const reply = expectStatus(await apiRequest(connection, "GET", spec.path), `reading ${spec.what}`, 200);
    const body = reply.body as
      { schedule?: { type?: string; cron?: unknown } | null; job_parameters?: unknown } | undefined;
    if (!body || typeof body !== "object" || !body.schedule || body.schedule.type === "None") return undefined;
    return spec.fromHarbor(body);
  };
  return singletonProvider<Inputs>({
    id: spec.id,
    check: spec.check,
    keys: spec.keys,
    live,
    async write(inputs) {
      // Harbor creates with POST and changes with PUT.
      const method = (await live(inputs.connection)) ? "PUT" : "POST";
      const reply = await apiRequest(inputs.connection, method, spec.path, spec.body(inputs));
      expectStatus(reply, `setting ${spec.what}`, 200, 201);
    },
    async reset(inputs) {
      const reply = await apiRequest(inputs.connection, "PUT", spec.path, { schedule: { type: "None" } });
      expectStatus(reply, `cancelling ${spec.what}`, 200);
    },
  });
}
