// Deleting a manifest that an index of the repository lists would leave a broken multi-arch
// image (the index 200, its child 404). It is refused as Harbor refuses it: 412 with "the
// deleting artifact is referenced by others", here under the OCI code UNSUPPORTED, and the
// digests of the indexes in the way. Deleting the index first, then the child, works.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OCI_INDEX, OCI_MANIFEST, OciClient } from "./oci-client.ts";

interface Pushed {
  digest: string;
  bytes: Buffer;
}

describe("deleting a manifest an index lists", () => {
  let registry: TestRegistry;
  let client: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());

  function entry(child: Pushed, architecture: string, mediaType = OCI_MANIFEST) {
    return { mediaType, digest: child.digest, size: child.bytes.length, platform: { os: "linux", architecture } };
  }

  async function pushIndex(repository: string, tag: string, entries: unknown[]): Promise<Pushed> {
    const { response, digest, bytes } = await client.pushManifest(
      repository,
      tag,
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries },
      OCI_INDEX,
    );
    expect(response.status, await response.clone().text()).toBe(201);
    return { digest, bytes };
  }

  async function status(method: string, repository: string, reference: string): Promise<number> {
    return (await client.request(method, `/v2/${repository}/manifests/${reference}`)).status;
  }

  it("refuses it with Harbor's 412 and keeps both; the index first, then the child, works", async () => {
    const amd = await client.pushImage("del/multi", "amd64", { layer: "amd64 layer" });
    const arm = await client.pushImage("del/multi", "arm64", { layer: "arm64 layer" });
    const index = await pushIndex("del/multi", "1.0", [entry(amd, "amd64"), entry(arm, "arm64")]);

    const refused = await client.request("DELETE", `/v2/del/multi/manifests/${arm.digest}`);
    expect(refused.status).toBe(412);
    expect(await refused.json()).toEqual({
      errors: [
        {
          code: "UNSUPPORTED",
          message: "the deleting artifact is referenced by others",
          detail: { digest: arm.digest, referencedBy: [index.digest] },
        },
      ],
    });
    expect(await status("GET", "del/multi", "1.0")).toBe(200);
    expect(await status("GET", "del/multi", arm.digest)).toBe(200);
    expect(await status("GET", "del/multi", "arm64")).toBe(200);

    // A tag of the child is only a name: it may go.
    expect(await status("DELETE", "del/multi", "arm64")).toBe(202);
    expect(await status("GET", "del/multi", arm.digest)).toBe(200);

    expect(await status("DELETE", "del/multi", index.digest)).toBe(202);
    expect(await status("DELETE", "del/multi", arm.digest)).toBe(202);
    expect(await status("GET", "del/multi", arm.digest)).toBe(404);
    expect(await status("DELETE", "del/multi", amd.digest)).toBe(202);
  });

  it("keeps a child two indexes list until both are gone, and a nested index its parent lists", async () => {
    const child = await client.pushImage("del/shared", "child", { layer: "shared child layer" });
    const first = await pushIndex("del/shared", "first", [entry(child, "amd64")]);
    const nested = await pushIndex("del/shared", "nested", [{ ...entry(child, "amd64"), annotations: { n: "1" } }]);
    const outer = await pushIndex("del/shared", "outer", [
      { mediaType: OCI_INDEX, digest: nested.digest, size: nested.bytes.length },
    ]);

    const both = await client.request("DELETE", `/v2/del/shared/manifests/${child.digest}`);
    expect(both.status).toBe(412);
    expect(((await both.json()) as { errors: Array<{ detail: unknown }> }).errors[0]?.detail).toEqual({
      digest: child.digest,
      referencedBy: [first.digest, nested.digest].sort(),
    });
    expect(await status("DELETE", "del/shared", nested.digest)).toBe(412);

    expect(await status("DELETE", "del/shared", first.digest)).toBe(202);
    expect(await status("DELETE", "del/shared", child.digest)).toBe(412);
    expect(await status("DELETE", "del/shared", outer.digest)).toBe(202);
    expect(await status("DELETE", "del/shared", nested.digest)).toBe(202);
    expect(await status("DELETE", "del/shared", child.digest)).toBe(202);
  });

  it("answers 404 for a manifest that is not there, and looks only at indexes of the same repository", async () => {
    const child = await client.pushImage("del/one", "child", { layer: "one layer" });
    const sameBytes = await client.pushImage("del/two", "child", { layer: "one layer" });
    expect(sameBytes.digest).toBe(child.digest);
    await pushIndex("del/one", "multi", [entry(child, "amd64")]);
    expect(await status("DELETE", "del/two", child.digest)).toBe(202);
    expect(await status("DELETE", "del/one", child.digest)).toBe(412);
    expect(await status("DELETE", "del/two", child.digest)).toBe(404);
  });
});
