// The events other parts react to (webhooks, event-based replication) come out of the registry
// for what clients do through /v2 and through Harbor's API: a push with its tags and operator,
// a pull (GET, not HEAD), a tag deleted alone, an artifact deleted by digest, and each artifact
// of a deleted repository; none for a refused request.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RegistryEvents, type RegistryEvent } from "../../src/events/registry-events.ts";
import { createLogger } from "../../src/logger.ts";
import { ADMIN, request, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";

describe("registry events", () => {
  let registry: TestRegistry;
  let client: OciClient;
  const seen: RegistryEvent[] = [];
  const bus = new RegistryEvents(createLogger("fatal"));
  bus.subscribe((event) => seen.push(event));

  beforeAll(async () => {
    registry = await startTestRegistry({}, { events: bus });
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());
  beforeEach(() => {
    seen.length = 0;
  });

  const api = (method: string, path: string) => request(`${registry.url}/api/v2.0${path}`, { method, auth: ADMIN });

  it("tells of a push with its tag, size, media type and operator", async () => {
    const { digest, bytes } = await client.pushImage("library/events", "v1");
    const pushes = seen.filter((event) => event.type === "PUSH_ARTIFACT");
    expect(pushes).toEqual([
      expect.objectContaining({
        operator: ADMIN.username,
        artifact: { repository: "library/events", digest, mediaType: OCI_MANIFEST, size: bytes.length, tags: ["v1"] },
      }),
    ]);
  });

  it("tells of a GET of a manifest as a pull, not of a HEAD", async () => {
    const { digest } = await client.pushImage("library/events", "v2");
    seen.length = 0;
    expect((await client.request("HEAD", "/v2/library/events/manifests/v2")).status).toBe(200);
    expect(seen).toEqual([]);
    expect((await client.request("GET", "/v2/library/events/manifests/v2")).status).toBe(200);
    expect(
      seen.map(
        (event) => event.type === "PULL_ARTIFACT" && [event.operator, event.artifact.digest, event.artifact.tags],
      ),
    ).toEqual([[ADMIN.username, digest, ["v2"]]]);
  });

  it("tells of a tag deleted through /v2 and through the API, and of an artifact deleted", async () => {
    const { digest } = await client.pushImage("library/events", "a");
    await client.pushManifest(
      "library/events",
      "b",
      JSON.parse(await (await client.request("GET", "/v2/library/events/manifests/a")).text()) as unknown,
      OCI_MANIFEST,
    );
    seen.length = 0;
    expect((await client.request("DELETE", "/v2/library/events/manifests/a")).status).toBe(202);
    expect((await api("DELETE", `/projects/library/repositories/events/artifacts/${digest}/tags/b`)).status).toBe(200);
    expect(seen.map((event) => event.type === "DELETE_TAG" && [event.tag, event.digest])).toEqual([
      ["a", digest],
      ["b", digest],
    ]);
    seen.length = 0;
    expect((await api("DELETE", `/projects/library/repositories/events/artifacts/${digest}`)).status).toBe(200);
    expect(
      seen.map((event) => event.type === "DELETE_ARTIFACT" && [event.artifact.digest, event.artifact.tags]),
    ).toEqual([[digest, []]]);
  });

  it("tells of each artifact of a deleted repository, with its tags", async () => {
    const one = await client.pushImage("library/gone", "one");
    const two = await client.pushImage("library/gone", "two", { layer: "another layer" });
    seen.length = 0;
    expect((await api("DELETE", "/projects/library/repositories/gone")).status).toBe(200);
    const deleted = seen.flatMap((event) => (event.type === "DELETE_ARTIFACT" ? [event.artifact] : []));
    expect(deleted.map((artifact) => [artifact.digest, artifact.tags]).sort()).toEqual(
      [
        [one.digest, ["one"]],
        [two.digest, ["two"]],
      ].sort(),
    );
  });

  it("tells nothing of a refused push", async () => {
    const response = await new OciClient(registry.url, null).request("PUT", "/v2/library/events/manifests/x", {
      headers: { "Content-Type": OCI_MANIFEST },
      body: Buffer.from("{}"),
    });
    expect(response.status).toBe(401);
    expect(seen).toEqual([]);
  });
});
