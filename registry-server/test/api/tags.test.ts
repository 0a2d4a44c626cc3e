// Harbor's tags API of an artifact: list (harbor-cli sends no paging: Harbor's 10 per page), create
// with harbor-cli's body `{"name": …}` (201, empty body; 409 for a name the repository has; 405
// in a proxy-cache project), delete (404 for a tag the artifact does not carry), tag ids, the
// roles allowed (developers create, maintainers delete) and the audit entries.

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { pushRichImage, type Pushed } from "./artifact-fixture.ts";
import { expectError, HarborClient, RFC3339, type Credentials } from "./harbor-client.ts";

interface Tag {
  id: number;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string;
  immutable: boolean;
}

const DEVELOPER = { username: "dev", password: "Dev-pass-123" };
const GUEST = { username: "guest", password: "Guest-pass-12" };
const MAINTAINER = { username: "keeper", password: "Keeper-pass-1" };
const TAGS = "/projects/team/repositories/tools%252Fapp/artifacts";

describe("tags API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let one: Pushed;
  let two: Pushed;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    await api.createProject("team", false);
    for (const user of [DEVELOPER, GUEST, MAINTAINER]) await api.createUser(user.username, user.password);
    await api.addMember("team", DEVELOPER.username, ROLES.developer);
    await api.addMember("team", GUEST.username, ROLES.guest);
    await api.addMember("team", MAINTAINER.username, ROLES.maintainer);
    one = await pushRichImage(oci, "team/tools/app", "1.0");
    two = await pushRichImage(oci, "team/tools/app", "2.0", { seed: "two" });
  });
  afterAll(() => registry.stop());

  async function tags(
    reference: string,
    query = "",
    auth?: Credentials | null,
  ): Promise<{ items: Tag[]; total: string | null }> {
    const reply = await api.get(`${TAGS}/${reference}/tags${query}`, auth);
    expect(reply.status, reply.text).toBe(200);
    return { items: reply.json as Tag[], total: reply.headers.get("x-total-count") };
  }

  const create = (reference: string, name: unknown, auth?: Credentials | null) =>
    api.call("POST", `${TAGS}/${reference}/tags`, { body: { name }, ...(auth !== undefined && { auth }) });

  it("creates a tag with harbor-cli's body, answering 201 with nothing, the tag pullable at once", async () => {
    const reply = await create("1.0", "stable");
    expect(reply.status, reply.text).toBe(201);
    expect(reply.text).toBe("");
    const pulled = await oci.request("GET", "/v2/team/tools/app/manifests/stable");
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("docker-content-digest")).toBe(one.digest);
    // By digest too, and harbor-cli's echoed extra fields are ignored.
    const byDigest = await api.call("POST", `${TAGS}/${one.digest}/tags`, {
      body: { name: "candidate", id: 99, immutable: true },
    });
    expect(byDigest.status, byDigest.text).toBe(201);
    expect((await tags("1.0")).items.map((t) => t.name)).toEqual(["1.0", "stable", "candidate"]);
  });

  it("lists an artifact's tags in Harbor's shape, ten to a page unless asked, filtered and sorted", async () => {
    const artifactId = ((await api.get(`${TAGS}/1.0`)).json as { id: number }).id;
    const repositoryId = ((await api.get("/projects/team/repositories/tools%252Fapp")).json as { id: number }).id;
    for (let i = 0; i < 11; i++) expect((await create("1.0", `bulk-${String(i).padStart(2, "0")}`)).status).toBe(201);
    const { items, total } = await tags("1.0");
    expect(total).toBe("14");
    expect(items).toHaveLength(10);
    for (const tag of items) {
      expect(tag).toEqual({
        id: expect.any(Number) as number,
        repository_id: repositoryId,
        artifact_id: artifactId,
        name: tag.name,
        push_time: expect.stringMatching(RFC3339) as string,
        pull_time: "0001-01-01T00:00:00.000Z",
        immutable: false,
      });
    }
    expect(new Set(items.map((t) => t.id)).size).toBe(10);
    const filtered = await tags("1.0", `?q=${encodeURIComponent("name=~BULK-0")}&sort=-name&page_size=3`);
    expect(filtered.total).toBe("10");
    expect(filtered.items.map((t) => t.name)).toEqual(["bulk-09", "bulk-08", "bulk-07"]);
    const exact = await tags("1.0", `?q=${encodeURIComponent("name=stable")}`);
    expect(exact.items.map((t) => t.name)).toEqual(["stable"]);
    // Options harbor-cli and the UI send are accepted.
    expect((await tags("2.0", "?with_signature=true&with_immutable_status=true")).items.map((t) => t.name)).toEqual([
      "2.0",
    ]);
    expectError(await api.get(`${TAGS}/nope/tags`), 404, "NOT_FOUND");
  });

  it("refuses a name the repository already has, on this artifact or another, and bad names", async () => {
    expectError(await create("1.0", "stable"), 409, "CONFLICT", /stable/);
    expectError(await create("2.0", "stable"), 409, "CONFLICT", /stable/);
    expect((await oci.request("GET", "/v2/team/tools/app/manifests/stable")).headers.get("docker-content-digest")).toBe(
      one.digest,
    );
    expectError(await create("2.0", "not a tag"), 400, "BAD_REQUEST");
    expectError(await create("2.0", ".hidden"), 400, "BAD_REQUEST");
    expectError(await create("2.0", 5), 400, "BAD_REQUEST");
    expectError(await create("nope", "x"), 404, "NOT_FOUND");
  });

  it("deletes a tag of the artifact, not one the artifact does not carry", async () => {
    expect((await create("2.0", "doomed")).status).toBe(201);
    expectError(
      await api.call("DELETE", `${TAGS}/1.0/tags/doomed`),
      404,
      "NOT_FOUND",
      /tag doomed attached to artifact \d+ not found/,
    );
    expectError(await api.call("DELETE", `${TAGS}/2.0/tags/never`), 404, "NOT_FOUND");
    const reply = await api.call("DELETE", `${TAGS}/${two.digest}/tags/doomed`);
    expect(reply.status, reply.text).toBe(200);
    expect((await oci.request("GET", "/v2/team/tools/app/manifests/doomed")).status).toBe(404);
    // The artifact stays.
    expect((await oci.request("GET", `/v2/team/tools/app/manifests/${two.digest}`)).status).toBe(200);
  });

  it("gives a tag made again a new id", async () => {
    expect((await create("2.0", "again")).status).toBe(201);
    const first = (await tags("2.0", `?q=${encodeURIComponent("name=again")}`)).items[0];
    expect((await api.call("DELETE", `${TAGS}/2.0/tags/again`)).status).toBe(200);
    expect((await create("2.0", "again")).status).toBe(201);
    const second = (await tags("2.0", `?q=${encodeURIComponent("name=again")}`)).items[0];
    expect(second?.id).toBeGreaterThan(first?.id ?? Number.MAX_SAFE_INTEGER);
  });

  it("lets developers create and maintainers delete; guests list; anonymous callers nothing", async () => {
    expect((await create("2.0", "by-dev", DEVELOPER)).status).toBe(201);
    expectError(await api.call("DELETE", `${TAGS}/2.0/tags/by-dev`, { auth: DEVELOPER }), 403, "FORBIDDEN");
    expectError(await create("2.0", "by-guest", GUEST), 403, "FORBIDDEN");
    expect((await tags("2.0", "", GUEST)).items.map((t) => t.name)).toContain("by-dev");
    expectError(await api.get(`${TAGS}/2.0/tags`, null), 401, "UNAUTHORIZED");
    expectError(await create("2.0", "by-nobody", null), 401, "UNAUTHORIZED");
    expect((await api.call("DELETE", `${TAGS}/2.0/tags/by-dev`, { auth: MAINTAINER })).status).toBe(200);
  });

  it("records tag creations and deletions in the audit log", async () => {
    let entries: Array<{ resource: string; operation: string; resource_type: string }> = [];
    for (let i = 0; i < 100; i++) {
      entries = (await api.get("/audit-logs?page_size=100&q=resource_type%3Dtag")).json as typeof entries;
      if (entries.some((e) => e.resource === "team/tools/app:doomed" && e.operation === "delete")) break;
      await sleep(50);
    }
    expect(entries).toContainEqual(
      expect.objectContaining({ resource: "team/tools/app:stable", resource_type: "tag", operation: "create" }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ resource: "team/tools/app:doomed", resource_type: "tag", operation: "delete" }),
    );
  });

  it("refuses new tags in a proxy-cache project, whose tags follow the upstream", async () => {
    const registryReply = await api.call("POST", "/registries", {
      body: { name: "upstream", type: "docker-registry", url: "https://127.0.0.1:9", insecure: true },
    });
    expect(registryReply.status, registryReply.text).toBe(201);
    const registryId = Number(/(\d+)$/.exec(registryReply.headers.get("location") ?? "")?.[1]);
    const project = await api.call("POST", "/projects", {
      body: { project_name: "cache", registry_id: registryId, metadata: { public: "false" } },
    });
    expect(project.status, project.text).toBe(201);
    expectError(
      await api.call("POST", "/projects/cache/repositories/library%252Fnginx/artifacts/latest/tags", {
        body: { name: "mine" },
      }),
      405,
      "METHOD_NOT_ALLOWED",
      /proxy cache project/,
    );
  });

  it("answers a malformed percent-escape in a path with Harbor's error, never a 500", async () => {
    // "%E0%A4%A" is not a valid escape: such a segment is taken as it is written, and names nothing.
    const bad = "%E0%A4%A";
    expectError(await api.call("DELETE", `${TAGS}/1.0/tags/${bad}`), 404, "NOT_FOUND");
    expectError(await api.call("GET", `/projects/team/metadatas/${bad}`), 404, "NOT_FOUND");
    expectError(await api.call("GET", `/projects/${bad}/metadatas/auto_scan`), 404, "NOT_FOUND");
    expectError(await api.call("POST", `/projects/${bad}/preheat`, { body: { images: ["a:1"] } }), 404, "NOT_FOUND");
    expectError(await api.call("POST", `/projects/${bad}/imports`), 404, "NOT_FOUND");
  });
});
