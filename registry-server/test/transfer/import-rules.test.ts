// Export choices and import rules, on a plain-HTTP loopback registry: an insecure registry read
// over HTTP, platforms cut from an index (one: its image manifest, digest kept; two of three: a
// new index), an unknown platform refused; imports refused into a proxy-cache project, from a
// developer, and with the wrong content type.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, HarborClient, idFromLocation, type Credentials } from "../api/harbor-client.ts";
import { writeMultiPlatformLayout, type LayoutImage } from "../clients/oci-layout.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { ok, run } from "./transfer-fixture.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

describe("export choices and import rules", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let work: { dir: string; remove: () => void };
  let host: string;
  let multi: LayoutImage;
  let credsFile: string;

  async function exportWith(output: string, platforms: string[]): Promise<{ status: number | null; stderr: string }> {
    const flags = platforms.flatMap((p) => ["--platform", p]);
    return run(process.execPath, [
      MAIN,
      "export",
      "--output",
      output,
      "--insecure-registry",
      host,
      "--creds-file",
      credsFile,
      ...flags,
      `${host}/src/multi:1.0`,
    ]);
  }

  async function importFile(
    project: string,
    file: string,
    auth: Credentials = ADMIN,
    type = "application/x-tar",
    into: TestRegistry = registry,
  ) {
    const response = await fetch(`${into.url}/api/v2.0/projects/${project}/imports`, {
      method: "POST",
      headers: { Authorization: basic(auth), "Content-Type": type },
      body: readFileSync(file),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, text, json: (text ? JSON.parse(text) : undefined) as unknown };
  }

  function described(bundle: string): { digest: string; source_digest?: string; platforms: string[] } {
    const text = execFileSync("tar", ["-xOf", bundle, "airlock-bundle.json"], { encoding: "utf8" });
    return (JSON.parse(text) as { images: Array<{ digest: string; source_digest?: string; platforms: string[] }> })
      .images[0] as never;
  }

  beforeAll(async () => {
    work = tempDir("transfer-rules");
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    host = `127.0.0.1:${new URL(registry.url).port}`;
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
    credsFile = path.join(work.dir, "config.json");
    const auth = Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64");
    writeFileSync(credsFile, JSON.stringify({ auths: { [`http://${host}`]: { auth } } }));
  });

  afterAll(async () => {
    await registry?.stop();
    work?.remove();
  });

  it("exports one platform over plain HTTP: its image manifest, digest preserved", async () => {
    const bundle = path.join(work.dir, "one.tar");
    const exported = await exportWith(bundle, ["linux/arm64"]);
    expect(exported.status, exported.stderr).toBe(0);
    const arm = multi.manifestDigests["arm64"];
    expect(described(bundle)).toEqual({
      source: `${host}/src/multi:1.0`,
      digest: arm,
      media_type: "application/vnd.oci.image.manifest.v1+json",
      platforms: ["linux/arm64"],
      size: expect.any(Number) as number,
      source_digest: multi.indexDigest,
    });
    await api.createProject("one", false);
    const imported = await importFile("one", bundle);
    expect(imported.status, imported.text).toBe(200);
    const head = await api.call("HEAD", "/v2/one/src/multi/manifests/1.0");
    expect(head.headers.get("docker-content-digest")).toBe(arm);
  });

  it("exports two platforms of three as a new index listing only them; refuses an unknown platform", async () => {
    const bundle = path.join(work.dir, "two.tar");
    const exported = await exportWith(bundle, ["linux/amd64", "linux/s390x"]);
    expect(exported.status, exported.stderr).toBe(0);
    const image = described(bundle);
    expect(image.source_digest).toBe(multi.indexDigest);
    expect(image.digest).not.toBe(multi.indexDigest);
    expect(image.platforms).toEqual(["linux/amd64", "linux/s390x"]);
    await api.createProject("two", false);
    expect((await importFile("two", bundle)).status).toBe(200);
    const index = await api.call("GET", "/v2/two/src/multi/manifests/1.0", {
      headers: { Accept: "application/vnd.oci.image.index.v1+json" },
    });
    expect((index.json as { manifests: unknown[] }).manifests).toHaveLength(2);

    const refused = await exportWith(path.join(work.dir, "none.tar"), ["linux/riscv64"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      "none of linux/riscv64 in its index (it has linux/amd64, linux/arm64, linux/s390x)",
    );
  });

  it("exports images listed in a file and pinned by digest; they import untagged", async () => {
    const list = path.join(work.dir, "images.txt");
    writeFileSync(list, `# pinned\n${host}/src/multi@${multi.indexDigest}\n`);
    const bundle = path.join(work.dir, "pinned.tar");
    const exported = await run(process.execPath, [
      MAIN,
      "export",
      "--output",
      bundle,
      "--insecure-registry",
      host,
      "--creds-file",
      credsFile,
      "--file",
      list,
    ]);
    expect(exported.status, exported.stderr).toBe(0);
    await api.createProject("pinned", false);
    const imported = await importFile("pinned", bundle);
    expect(imported.json).toMatchObject({
      images: [{ source: `${host}/src/multi@${multi.indexDigest}`, repository: "pinned/src/multi", tags: [] }],
    });
    expect((await api.call("HEAD", `/v2/pinned/src/multi/manifests/${multi.indexDigest}`)).status).toBe(200);
    expect((await api.call("HEAD", "/v2/pinned/src/multi/manifests/1.0")).status).toBe(404);
  });

  it("streams a large blob straight into place: refused when a byte is flipped, stored, then linked after a check", async () => {
    const big = randomBytes(600 * 1024).toString("base64");
    await new OciClient(registry.url).pushImage("src/big", "1", { layer: big });
    const bundle = path.join(work.dir, "big.tar");
    const exported = await run(process.execPath, [
      MAIN,
      "export",
      "--output",
      bundle,
      "--insecure-registry",
      host,
      "--creds-file",
      credsFile,
      `${host}/src/big:1`,
    ]);
    expect(exported.status, exported.stderr).toBe(0);
    const corrupt = path.join(work.dir, "big-corrupt.tar");
    const data = readFileSync(bundle);
    const at = data.indexOf(Buffer.from(big.slice(1000, 1100)));
    data[at] = (data[at] ?? 0) ^ 0x01;
    writeFileSync(corrupt, data);

    // Another registry, which has never seen the layer: it is written while its digest is checked.
    const other = await startTestRegistry();
    try {
      const otherApi = new HarborClient(other.url);
      for (const name of ["first", "second", "third"]) await otherApi.createProject(name, false);
      const refused = await importFile("first", corrupt, ADMIN, "application/x-tar", other);
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/blobs\/sha256\/[0-9a-f]{64} does not match its digest/);
      const stored = await importFile("first", bundle, ADMIN, "application/x-tar", other);
      expect(stored.status, stored.text).toBe(200);
      expect(stored.json).toMatchObject({ blobs_stored: 2, blobs_skipped: 0 });
      expect((stored.json as { bytes_stored: number }).bytes_stored).toBeGreaterThan(big.length);
      // Now the registry holds the layer elsewhere: the bytes are hashed, not written again.
      const linked = await importFile("second", bundle, ADMIN, "application/x-tar", other);
      expect((linked.json as { bytes_stored: number }).bytes_stored).toBeLessThan(1024);
      const tampered = await importFile("third", corrupt, ADMIN, "application/x-tar", other);
      expect(tampered.status).toBe(400);
      expect((await otherApi.call("HEAD", "/v2/third/src/big/manifests/1")).status).toBe(404);
      expect((await otherApi.call("HEAD", "/v2/second/src/big/manifests/1")).status).toBe(200);
    } finally {
      await other.stop();
    }
  });

  it("refuses imports into a proxy-cache project, from a developer, and of another content type", async () => {
    const bundle = path.join(work.dir, "one.tar");
    const endpoint = await api.call("POST", "/registries", {
      body: { name: "elsewhere", type: "docker-registry", url: "https://127.0.0.1:1", insecure: false },
    });
    const registryId = idFromLocation(endpoint, "/api/v2.0/registries/");
    expect(
      (await api.call("POST", "/projects", { body: { project_name: "cache", registry_id: registryId } })).status,
    ).toBe(201);
    const proxied = await importFile("cache", bundle);
    expect(proxied.status).toBe(400);
    expect(proxied.text).toContain("proxy-cache project");
    const passwordFile = path.join(work.dir, "password");
    writeFileSync(passwordFile, ADMIN.password);
    const cli = await run(process.execPath, [
      MAIN,
      "import",
      "--url",
      registry.url,
      "--project",
      "cache",
      "--password-file",
      passwordFile,
      bundle,
    ]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain("project cache is a proxy-cache project");

    await api.createProject("team", false);
    const developer = { username: "dev", password: "Developer-password-1" };
    const maintainer = { username: "maint", password: "Maintainer-password-1" };
    for (const [user, role] of [
      [developer, 2],
      [maintainer, 4],
    ] as const) {
      await api.createUser(user.username, user.password);
      await api.addMember("team", user.username, role);
    }
    expect((await importFile("team", bundle, developer)).status).toBe(403);
    expect((await importFile("team", bundle, ADMIN, "application/json")).status).toBe(415);
    expect((await importFile("missing", bundle)).status).toBe(404);
    const imported = await importFile("team", bundle, maintainer);
    expect(imported.status, imported.text).toBe(200);
  });
});
