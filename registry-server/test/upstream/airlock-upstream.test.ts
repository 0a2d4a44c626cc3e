// The generic adapter against a second instance of our registry on loopback, which speaks the
// Docker token flow: ping, manifests by tag and digest with the digest preserved, blobs, tags
// pagination through `Link`, bearer tokens reused per scope, and refused credentials.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstreamFactory } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamEndpoint, UpstreamRegistry } from "../../src/upstream/upstream-registry.ts";
import { HarborClient } from "../api/harbor-client.ts";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { DOCKER_MANIFEST, OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { expectUpstreamError, readAll } from "./upstream-helpers.ts";

const ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST];

describe("generic adapter against our registry (Docker token auth)", () => {
  let upstream: TestRegistry;
  let image: { digest: string; bytes: Buffer };
  const adapters: UpstreamRegistry[] = [];

  function adapter(overrides: Partial<UpstreamEndpoint> = {}, tagsPageSize?: number): UpstreamRegistry {
    const endpoint: UpstreamEndpoint = {
      id: 1,
      name: "airlock-upstream",
      type: "docker-registry",
      url: upstream.url,
      insecure: false,
      credential: { type: "basic", accessKey: ADMIN.username, accessSecret: ADMIN.password },
      ...overrides,
    };
    const made = createUpstreamFactory({ timeoutMs: 5_000 }, { ...(tagsPageSize && { tagsPageSize }) })(endpoint);
    adapters.push(made);
    return made;
  }

  const tokenRequests = (): number => upstream.logs.filter((line) => line.includes('"route":"token"')).length;

  beforeAll(async () => {
    upstream = await startTestRegistry();
    const client = new OciClient(upstream.url);
    image = await client.pushImage("team/app", "v1", { mediaType: DOCKER_MANIFEST, layer: "the layer bytes" });
    for (let i = 0; i < 7; i++) await client.pushImage("team/many", `t${i}`, { layer: `layer ${i}` });
    await client.pushImage("pub/app", "v1", { layer: "public layer" });
    const madePublic = await new HarborClient(upstream.url).call("PUT", "/projects/pub", {
      headers: { "X-Is-Resource-Name": "true" },
      body: { metadata: { public: "true" } },
    });
    expect(madePublic.status, madePublic.text).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await upstream.stop();
  });

  it("pings with and without a valid credential", async () => {
    await adapter().ping();
    await adapter({ credential: undefined }).ping();
    await expectUpstreamError(
      adapter({ credential: { type: "basic", accessKey: ADMIN.username, accessSecret: "wrong-password" } }).ping(),
      "unauthorized",
    );
  });

  it("heads and gets a manifest by tag and by digest, digest and bytes preserved", async () => {
    const registry = adapter();
    const head = await registry.headManifest("team/app", "v1", ACCEPT);
    expect(head).toEqual({ digest: image.digest, mediaType: DOCKER_MANIFEST, size: image.bytes.length });
    const byTag = await registry.getManifest("team/app", "v1", ACCEPT);
    expect(byTag?.digest).toBe(image.digest);
    expect(byTag?.content.equals(image.bytes)).toBe(true);
    const byDigest = await registry.getManifest("team/app", image.digest, ACCEPT);
    expect(byDigest?.content.equals(image.bytes)).toBe(true);
    expect(await registry.headManifest("team/app", "missing", ACCEPT)).toBeUndefined();
    expect(await registry.getManifest("team/nothing", "v1", ACCEPT)).toBeUndefined();
  });

  it("gets a blob as a stream, and undefined for an unknown one", async () => {
    const registry = adapter();
    const digest = sha256("the layer bytes");
    const blob = await registry.getBlob("team/app", digest);
    expect(blob?.size).toBe("the layer bytes".length);
    expect((await readAll(blob?.body)).toString()).toBe("the layer bytes");
    expect(await registry.getBlob("team/app", sha256("absent"))).toBeUndefined();
  });

  it("lists tags across pages following Link, up to the limit", async () => {
    const registry = adapter({}, 2);
    expect(await registry.listTags("team/many", 100)).toEqual(["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
    expect(await registry.listTags("team/many", 3)).toEqual(["t0", "t1", "t2"]);
    expect(await registry.listTags("team/none", 10)).toBeUndefined();
  });

  it("pulls anonymously with an anonymous token where the upstream allows it, and only there", async () => {
    const anonymous = adapter({ credential: undefined });
    expect((await anonymous.getManifest("pub/app", "v1", ACCEPT))?.mediaType).toBe(OCI_MANIFEST);
    await expectUpstreamError(anonymous.getManifest("team/app", "v1", ACCEPT), "unauthorized");
  });

  it("asks the token service once per scope and reuses the token", async () => {
    const registry = adapter();
    const before = tokenRequests();
    await Promise.all(Array.from({ length: 8 }, () => registry.headManifest("team/app", "v1", ACCEPT)));
    for (let i = 0; i < 5; i++) await registry.getManifest("team/app", "v1", ACCEPT);
    expect(tokenRequests() - before).toBe(1);
    await registry.listTags("team/many", 10);
    expect(tokenRequests() - before).toBe(2);
  });
});
