// The declaration every registry provider records (components/registry/declaration.ts), against
// a real registry server started here: create and update record it, read keeps it, diff counts
// a new one as a change and the same one as none, delete removes it only while it is still this
// resource's, a 404 (an older server, a missing object) writes nothing and keeps the input, and
// any other refusal leaves the state without one so that the next `up` tries again.

import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declaredProvider, type Declaration } from "../../components/registry/declaration";
import { declaredProjectProvider, type ProjectInputs } from "../../components/registry/project";
import type { RegistryConnection } from "../../components/registry/api-client";

const ROOT = path.resolve(__dirname, "..", "..");
const D1: Declaration = { stack: "organization/airlock/dev", resource: "urn:pulumi:dev::airlock::t::one" };
const D2: Declaration = { stack: "organization/airlock/dev", resource: "urn:pulumi:dev::airlock::t::two" };
const OTHER: Declaration = { stack: "acme/other/prod", resource: "urn:pulumi:prod::other::t::x" };

interface TestRegistry {
  url: string;
  stop(): Promise<void>;
}

describe("declaredProvider against a registry", () => {
  let registry: TestRegistry;
  let connection: RegistryConnection;

  async function api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const auth = Buffer.from(`${connection.username}:${connection.password}`).toString("base64");
    const reply = await fetch(`${registry.url}/api/v2.0${apiPath}`, {
      method,
      headers: { Authorization: `Basic ${auth}`, "Content-Type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await reply.text();
    return { status: reply.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }
  const declared = async (kind: string, key: string) =>
    ((await api("GET", `/declarations?kind=${kind}&key=${encodeURIComponent(key)}`)).json as Declaration[]).map(
      ({ stack, resource }) => ({ stack, resource }),
    );

  beforeAll(async () => {
    // The server's modules use .ts imports the root tsconfig does not check: loaded at run time.
    const helpers = (await import(path.join(ROOT, "registry-server", "test", "helpers.ts"))) as {
      startTestRegistry(): Promise<TestRegistry>;
      ADMIN: { username: string; password: string };
    };
    registry = await helpers.startTestRegistry();
    connection = { url: registry.url, username: helpers.ADMIN.username, password: helpers.ADMIN.password };
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("records a project's declaration on create and update, keeps it on read, removes it with the project", async () => {
    const provider = declaredProjectProvider;
    const checked = await provider.check!(
      {} as ProjectInputs,
      {
        connection,
        name: "team",
        declaration: D1,
      } as unknown as ProjectInputs,
    );
    expect(checked.failures ?? []).toEqual([]);
    const inputs = checked.inputs!;
    expect(inputs.declaration).toEqual(D1);

    const made = await provider.create(inputs);
    expect(made.outs?.declaration).toEqual(D1);
    expect(await declared("project", "team")).toEqual([D1]);

    const outs = made.outs!;
    expect((await provider.diff!(made.id, outs, inputs)).changes).toBe(false);
    // State written before declarations existed has none: one update records it.
    const { declaration: _none, ...legacy } = outs;
    expect((await provider.diff!(made.id, legacy as typeof outs, inputs)).changes).toBe(true);
    const moved = { ...inputs, declaration: D2 };
    expect((await provider.diff!(made.id, outs, moved)).changes).toBe(true);

    const updated = await provider.update!(made.id, outs, moved);
    expect(updated.outs?.declaration).toEqual(D2);
    expect(await declared("project", "team")).toEqual([D2]);

    const read = await provider.read!(made.id, updated.outs);
    expect(read.props?.declaration).toEqual(D2);
    expect(read.inputs?.declaration).toEqual(D2);

    await provider.delete!(made.id, updated.outs!);
    expect((await api("GET", "/projects/team")).status).toBe(404);
    expect(await declared("project", "team")).toEqual([]);
  });

  it("removes a declaration on delete only while it is still this resource's", async () => {
    expect(
      (await api("POST", "/users", { username: "alice", password: "Alice-pass-1", email: "a@x.test", realname: "A" }))
        .status,
    ).toBe(201);
    const provider = declaredProvider("user", () => "alice", {
      create: async (inputs: { connection: RegistryConnection; declaration?: Declaration }) => ({
        id: "1",
        outs: inputs,
      }),
    });
    const made = await provider.create({ connection, declaration: D1 });
    expect(await declared("user", "alice")).toEqual([D1]);
    // Another stack adopted the user meanwhile: its declaration stays.
    expect((await api("PUT", "/declarations/user/alice", OTHER)).status).toBe(200);
    await provider.delete!(made.id, made.outs!);
    expect(await declared("user", "alice")).toEqual([OTHER]);
    expect((await api("PUT", "/declarations/user/alice", D1)).status).toBe(200);
    await provider.delete!(made.id, made.outs!);
    expect(await declared("user", "alice")).toEqual([]);
  });

  it("keeps the input when the registry answers 404, and none when it refuses otherwise", async () => {
    const fake = {
      create: async (inputs: { connection: RegistryConnection; declaration?: Declaration }) => ({
        id: "1",
        outs: inputs,
      }),
    };
    // No such project: nothing written, and the state keeps the input (no perpetual diff).
    const skipped = await declaredProvider("project", () => "ghost", fake).create({ connection, declaration: D1 });
    expect(skipped.outs?.declaration).toEqual(D1);
    expect(await declared("project", "ghost")).toEqual([]);
    // Refused (an unknown kind here): the state has none, so the next diff is a change.
    const provider = declaredProvider("bogus", () => "x", fake);
    const failed = await provider.create({ connection, declaration: D1 });
    expect(failed.outs).toEqual({ connection });
    expect((await provider.diff!("1", failed.outs!, { connection, declaration: D1 })).changes).toBe(true);
  });
});
