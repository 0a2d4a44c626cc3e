import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient } from "../distribution/oci-client.ts";

describe("repositories and artifacts API", () => {
  let registry: TestRegistry;
  let admin: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    admin = new OciClient(registry.url);
    // The administrator's push creates the (private) project.
    await admin.pushImage("team/app", "v1");
    await admin.pushImage("team/tools/lint", "2.0");
  });
  afterAll(() => registry.stop());

  it("lists a project's repositories with their artifact counts, paginated and filtered", async () => {
    const all = await admin.request("GET", "/api/v2.0/projects/team/repositories");
    expect(all.status).toBe(200);
    expect(all.headers.get("x-total-count")).toBe("2");
    const repositories = (await all.json()) as Array<Record<string, unknown>>;
    // Harbor's order: the newest repository first.
    expect(repositories.map((r) => [r["name"], r["artifact_count"]])).toEqual([
      ["team/tools/lint", 1],
      ["team/app", 1],
    ]);
    expect(repositories[0]).toMatchObject({
      project_id: expect.any(Number) as number,
      creation_time: expect.stringMatching(/Z$/) as string,
    });

    const filtered = await admin.request("GET", "/api/v2.0/projects/team/repositories?q=name%3D~lint&page_size=1");
    expect(((await filtered.json()) as Array<{ name: string }>).map((r) => r.name)).toEqual(["team/tools/lint"]);
    const anonymous = await new OciClient(registry.url, null).request("GET", "/api/v2.0/projects/team/repositories");
    expect(anonymous.status).toBe(401);
  });

  it("lists a repository's artifacts with their tags, the name encoded twice", async () => {
    const response = await admin.request("GET", "/api/v2.0/projects/team/repositories/tools%252Flint/artifacts");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-total-count")).toBe("1");
    const [artifact] = (await response.json()) as Array<Record<string, unknown>>;
    expect(artifact).toMatchObject({
      type: "IMAGE",
      manifest_media_type: "application/vnd.oci.image.manifest.v1+json",
      repository_name: "team/tools/lint",
      digest: expect.stringMatching(/^sha256:/) as string,
      tags: [{ name: "2.0", immutable: false }],
    });
    // As Harbor: a repository that does not exist has no artifacts to list.
    const none = await admin.request("GET", "/api/v2.0/projects/team/repositories/nope/artifacts");
    expect(none.status).toBe(200);
    expect(none.headers.get("x-total-count")).toBe("0");
    expect(await none.json()).toEqual([]);
  });

  it("deletes a repository, after which the project can be deleted", async () => {
    expect((await admin.request("DELETE", "/api/v2.0/projects/team")).status).toBe(412);
    for (const name of ["app", "tools%252Flint"]) {
      expect((await admin.request("DELETE", `/api/v2.0/projects/team/repositories/${name}`)).status).toBe(200);
    }
    expect((await admin.request("GET", "/v2/team/app/manifests/v1")).status).toBe(404);
    expect((await admin.request("DELETE", "/api/v2.0/projects/team")).status).toBe(200);
  });
});
