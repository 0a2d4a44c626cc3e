// What differs between registry types when this registry is replicated to over HTTP: a `harbor`
// destination gets its project created before the first push (Harbor refuses pushes to a missing
// project, so Harbor's adapter prepares it; a user here cannot rely on the administrator's
// implicit creation), and a `docker-hub` endpoint names official images `library/<name>` on the
// wire while the caller keeps saying `<name>`.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteEndpoint } from "../../src/replication/remote-endpoint.ts";
import { createUpstreamConnections } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamEndpoint } from "../../src/upstream/upstream-registry.ts";
import { HarborClient } from "../api/harbor-client.ts";
import { imageOf, seedImage } from "../contracts/replication-endpoint-contract.ts";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";

const DEVELOPER = { username: "replicator", password: "Replicator-password-1" };

describe("registry types as replication destinations (this registry over HTTP)", () => {
  let registry: TestRegistry;
  const endpoints: RemoteEndpoint[] = [];
  const signal = (): AbortSignal => AbortSignal.timeout(20_000);

  function remote(overrides: Partial<UpstreamEndpoint>): RemoteEndpoint {
    const made = new RemoteEndpoint(
      {
        id: 1,
        name: "airlock",
        type: "docker-registry",
        url: registry.url,
        insecure: false,
        credential: { type: "basic", accessKey: ADMIN.username, accessSecret: ADMIN.password },
        ...overrides,
      },
      createUpstreamConnections({ timeoutMs: 10_000 }),
    );
    endpoints.push(made);
    return made;
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    await new HarborClient(registry.url).createUser(DEVELOPER.username, DEVELOPER.password);
  });
  afterAll(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await registry?.stop();
  });

  it("creates a Harbor project before the first push into it, and only once", async () => {
    const credential = { type: "basic" as const, accessKey: DEVELOPER.username, accessSecret: DEVELOPER.password };
    const image = imageOf("pushed by a user");
    // As a plain v2 registry, the push into a missing project is refused.
    await expect(seedImage(remote({ credential }), "made-by-replication/app", "v1", image)).rejects.toThrow();

    const harbor = remote({ type: "harbor", credential });
    await seedImage(harbor, "made-by-replication/app", "v1", image);
    await seedImage(harbor, "made-by-replication/web", "v1", image);
    expect(await harbor.headManifest("made-by-replication/app", "v1", signal())).toBe(image.manifest.digest);
    const project = await new HarborClient(registry.url).get("/projects/made-by-replication", ADMIN, {
      "X-Is-Resource-Name": "true",
    });
    expect(project.status).toBe(200);
    expect((project.json as { metadata?: { public?: string } }).metadata?.public).toBe("false");
    const creations = registry.logs.filter((line) => line.includes('"route":"project_create"'));
    expect(creations).toHaveLength(1);
    expect(await harbor.listRepositories("made-by-replication/**", 100, signal())).toEqual(
      expect.arrayContaining(["made-by-replication/app", "made-by-replication/web"]),
    );
  });

  it("spells Docker Hub's official images library/<name> on the wire", async () => {
    const hub = remote({ type: "docker-hub" });
    const image = imageOf("an official image");
    await seedImage(hub, "busybox", "1.36", image);
    expect(await hub.headManifest("busybox", "1.36", signal())).toBe(image.manifest.digest);
    expect(await hub.listTags("busybox", signal())).toEqual(["1.36"]);
    expect(await hub.listRepositories("busybox", 10, signal())).toEqual(["busybox"]);
    const plain = remote({});
    expect(await plain.headManifest("library/busybox", "1.36", signal())).toBe(image.manifest.digest);
    expect(await hub.deleteTag("busybox", "1.36", signal())).toBe(true);
    expect(await plain.headManifest("library/busybox", "1.36", signal())).toBeUndefined();
  });
});
