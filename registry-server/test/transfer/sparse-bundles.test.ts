// Bundles that keep the digest deployments pin: `export --platform … --sparse-index` carries the
// source's index byte for byte with only the chosen platforms' images. A registry configured for
// sparse indexes imports it under the same digest (command line and API); a strict one refuses
// it before storing anything, and says why.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManifestValidation } from "../../src/content/manifest-validation.ts";
import { HarborClient } from "../api/harbor-client.ts";
import { writeMultiPlatformLayout, type LayoutImage } from "../clients/oci-layout.ts";
import { OCI_INDEX, OciClient } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { ok, run } from "./transfer-fixture.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

interface Described {
  digest: string;
  platforms: string[];
  source_digest?: string;
  omitted_manifests?: string[];
}

describe("sparse-index bundles", () => {
  let work: { dir: string; remove: () => void };
  let source: TestRegistry;
  let host: string;
  let multi: LayoutImage;
  let bundle: string;
  let passwordFile: string;
  const targets: TestRegistry[] = [];

  async function target(validation?: ManifestValidation): Promise<TestRegistry> {
    const registry = await startTestRegistry(validation ? { validation } : {});
    targets.push(registry);
    await new HarborClient(registry.url).createProject("zone", false);
    return registry;
  }

  function described(file: string): Described {
    const text = execFileSync("tar", ["-xOf", file, "airlock-bundle.json"], { encoding: "utf8" });
    return (JSON.parse(text) as { images: Described[] }).images[0] as Described;
  }

  async function importByApi(into: TestRegistry, file: string) {
    const response = await fetch(`${into.url}/api/v2.0/projects/zone/imports`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64")}`,
        "Content-Type": "application/x-tar",
      },
      body: readFileSync(file),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, text: await response.text() };
  }

  function importByCli(into: TestRegistry, file: string) {
    return run(process.execPath, [
      MAIN,
      "import",
      "--url",
      into.url,
      "--project",
      "zone",
      "--password-file",
      passwordFile,
      file,
    ]);
  }

  /** What the target holds of the image: the index's bytes by tag, and each platform's status. */
  async function holdings(into: TestRegistry) {
    const client = new OciClient(into.url);
    const index = await client.request("GET", "/v2/zone/src/multi/manifests/1.0", { headers: { Accept: OCI_INDEX } });
    const status = async (digest: string | undefined) =>
      (await client.request("HEAD", `/v2/zone/src/multi/manifests/${digest}`)).status;
    return {
      indexStatus: index.status,
      indexDigest: index.headers.get("docker-content-digest"),
      indexBytes: Buffer.from(await index.arrayBuffer()),
      amd64: await status(multi.manifestDigests["amd64"]),
      arm64: await status(multi.manifestDigests["arm64"]),
    };
  }

  /** The layers of the amd64 image, read from the source. */
  async function amd64Layers(): Promise<string[]> {
    const response = await new OciClient(source.url).request(
      "GET",
      `/v2/src/multi/manifests/${multi.manifestDigests["amd64"]}`,
    );
    return ((await response.json()) as { layers: Array<{ digest: string }> }).layers.map((l) => l.digest);
  }

  beforeAll(async () => {
    work = tempDir("sparse-bundles");
    source = await startTestRegistry();
    host = `127.0.0.1:${new URL(source.url).port}`;
    multi = writeMultiPlatformLayout(path.join(work.dir, "layout"), "1.0", ["amd64", "arm64", "s390x"]);
    await ok("skopeo", [
      "copy",
      "--all",
      "--dest-tls-verify=false",
      "--dest-creds",
      `${ADMIN.username}:${ADMIN.password}`,
      `oci:${path.join(work.dir, "layout")}:1.0`,
      `docker://${host}/src/multi:1.0`,
    ]);
    const credsFile = path.join(work.dir, "config.json");
    const auth = Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64");
    writeFileSync(credsFile, JSON.stringify({ auths: { [`http://${host}`]: { auth } } }));
    passwordFile = path.join(work.dir, "password");
    writeFileSync(passwordFile, `${ADMIN.password}\n`);
    bundle = path.join(work.dir, "sparse.tar");
    const exported = await run(process.execPath, [
      MAIN,
      "export",
      "--output",
      bundle,
      "--insecure-registry",
      host,
      "--creds-file",
      credsFile,
      "--platform",
      "linux/amd64",
      "--sparse-index",
      `${host}/src/multi:1.0`,
    ]);
    expect(exported.status, exported.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const registry of targets) await registry.stop();
    await source?.stop();
    work?.remove();
  });

  it("exports the source's index itself, with only the chosen platform and the others named", () => {
    expect(described(bundle)).toEqual({
      source: `${host}/src/multi:1.0`,
      digest: multi.indexDigest,
      media_type: "application/vnd.oci.image.index.v1+json",
      platforms: ["linux/amd64"],
      size: expect.any(Number) as number,
      omitted_manifests: [multi.manifestDigests["arm64"], multi.manifestDigests["s390x"]],
    });
    const names = execFileSync("tar", ["-tf", bundle], { encoding: "utf8" });
    expect(names).toContain((multi.manifestDigests["amd64"] ?? "").slice(7));
    expect(names).not.toContain((multi.manifestDigests["arm64"] ?? "").slice(7));
    expect(names).toContain(multi.indexDigest.slice(7));
  });

  it("refuses --sparse-index without --platform as a usage error", async () => {
    const refused = await run(process.execPath, [
      MAIN,
      "export",
      "--output",
      path.join(work.dir, "never.tar"),
      "--sparse-index",
      `${host}/src/multi:1.0`,
    ]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("--sparse-index needs --platform");
  });

  it("imports through the API into a registry taking sparse indexes: same digest, same bytes", async () => {
    const into = await target({ indexChildren: "none", blobs: "all" });
    const imported = await importByApi(into, bundle);
    expect(imported.status, imported.text).toBe(200);
    const held = await holdings(into);
    expect(held).toMatchObject({ indexStatus: 200, indexDigest: multi.indexDigest, amd64: 200, arm64: 404 });
    expect(held.indexBytes.equals(multi.indexBytes)).toBe(true);
  });

  it("imports with the command line into a registry requiring linux/amd64 only, twice", async () => {
    const into = await target({ indexChildren: [{ os: "linux", architecture: "amd64" }], blobs: "all" });
    const imported = await importByCli(into, bundle);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(`as zone/src/multi:1.0 ${multi.indexDigest}`);
    const held = await holdings(into);
    expect(held).toMatchObject({ indexDigest: multi.indexDigest, amd64: 200, arm64: 404 });
    expect(held.indexBytes.equals(multi.indexBytes)).toBe(true);
    const again = await importByCli(into, bundle);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/: 0 blob\(s\) pushed/);
  });

  it("is refused by a strict registry, through the API and the command line, storing nothing", async () => {
    const into = await target();
    const byApi = await importByApi(into, bundle);
    expect(byApi.status).toBe(400);
    expect(byApi.text).toContain("comes without its images for linux/arm64, linux/s390x (a sparse index)");
    expect(byApi.text).toContain("validation.manifests.indexes");

    const byCli = await importByCli(into, bundle);
    expect(byCli.status).toBe(1);
    expect(byCli.stderr).toContain("(a sparse index)");
    expect(byCli.stderr).toContain("nothing was imported");

    const held = await holdings(into);
    expect(held).toMatchObject({ indexStatus: 404, amd64: 404, arm64: 404 });
    const client = new OciClient(into.url);
    for (const layer of await amd64Layers()) {
      expect((await client.request("HEAD", `/v2/zone/src/multi/blobs/${layer}`)).status).toBe(404);
    }
  });

  it("is refused by a registry requiring a platform the bundle leaves out", async () => {
    const into = await target({ indexChildren: [{ os: "linux", architecture: "arm64" }], blobs: "all" });
    const byCli = await importByCli(into, bundle);
    expect(byCli.status).toBe(1);
    expect(byCli.stderr).toContain("comes without its images for linux/arm64 (a sparse index)");
    expect((await holdings(into)).indexStatus).toBe(404);
  });
});
