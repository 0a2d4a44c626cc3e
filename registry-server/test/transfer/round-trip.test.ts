// The air-gap round trip: a multi-platform index and a Docker schema 2 image pushed into one
// registry, exported to a bundle by the command line, the bundle checked, imported into another
// registry with the command line and with the API, and pulled back with skopeo, digests intact.
// A rerun skips everything; a bundle with one flipped byte is refused and shows no manifest.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanTarFile } from "../../src/transfer/tar-file.ts";
import { writeMultiPlatformLayout, type LayoutImage } from "../clients/oci-layout.ts";
import { createFixture, docker, ok, run, type TlsRegistry, type TransferFixture } from "./transfer-fixture.ts";

const sha256 = (data: Buffer | string): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

describe("air-gap bundles", () => {
  let fx: TransferFixture;
  let source: TlsRegistry;
  let target: TlsRegistry;
  let multi: LayoutImage;
  let appDigest: string;
  let bundle: string;

  async function rawDigest(registry: TlsRegistry, name: string): Promise<string> {
    const raw = await ok("skopeo", [
      "inspect",
      "--raw",
      "--cert-dir",
      fx.certDir,
      "--creds",
      fx.creds,
      docker(registry, name),
    ]);
    return sha256(Buffer.from(raw.stdout));
  }

  beforeAll(async () => {
    fx = createFixture();
    source = await fx.start();
    target = await fx.start();
    multi = writeMultiPlatformLayout(path.join(fx.work.dir, "multi"), "1.0");
    writeMultiPlatformLayout(path.join(fx.work.dir, "single"), "v1", ["ppc64le"]);
    const push = ["copy", "--dest-cert-dir", fx.certDir, "--dest-creds", fx.creds];
    await ok("skopeo", [
      ...push,
      "--all",
      `oci:${path.join(fx.work.dir, "multi")}:1.0`,
      docker(source, "src/multi:1.0"),
    ]);
    // Converted on the way: a Docker schema 2 manifest with Docker media types.
    await ok("skopeo", [
      ...push,
      "--format",
      "v2s2",
      "--override-os",
      "linux",
      "--override-arch",
      "ppc64le",
      `oci:${path.join(fx.work.dir, "single")}:v1`,
      docker(source, "src/app:v1"),
    ]);
    appDigest = await rawDigest(source, "src/app:v1");
    bundle = path.join(fx.work.dir, "bundle.tar");
  });

  afterAll(async () => {
    await fx?.stop();
  });

  it("exports both images into one bundle, with progress and a summary", async () => {
    const exported = await fx.airlock([
      "export",
      "--output",
      bundle,
      "--ca-file",
      fx.caFile,
      "--creds-file",
      fx.credsFile([source.host]),
      `${source.host}/src/multi:1.0`,
      `${source.host}/src/app:v1`,
    ]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`resolved ${source.host}/src/multi:1.0 ${multi.indexDigest}`);
    expect(exported.stderr).toContain(`exported ${source.host}/src/app:v1`);
    expect(exported.stderr).toMatch(/of .* \(100%\)/);
    expect(exported.stdout).toMatch(/^wrote .*bundle\.tar: 2 image\(s\), 10 blob\(s\)/);
    expect(readdirSync(fx.work.dir).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("writes a valid OCI layout, small entries first, every blob matching its digest", async () => {
    const handle = await open(bundle, "r");
    const entries = [...(await scanTarFile(handle)).values()];
    await handle.close();
    const data = readFileSync(bundle);
    const names = entries.map((e) => e.name);
    expect(names.slice(0, 5)).toEqual(["oci-layout", "index.json", "airlock-bundle.json", "blobs", "blobs/sha256"]);
    const content = (name: string): Buffer => {
      const entry = entries.find((e) => e.name === name);
      return data.subarray(entry?.offset, (entry?.offset ?? 0) + (entry?.size ?? 0));
    };
    for (const entry of entries.filter((e) => e.name.startsWith("blobs/sha256/"))) {
      expect(sha256(content(entry.name))).toBe(`sha256:${entry.name.slice("blobs/sha256/".length)}`);
    }
    const index = JSON.parse(content("index.json").toString()) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    expect(index.manifests.map((m) => [m.digest, m.annotations])).toEqual([
      [
        multi.indexDigest,
        { "io.containerd.image.name": `${source.host}/src/multi:1.0`, "org.opencontainers.image.ref.name": "1.0" },
      ],
      [
        appDigest,
        { "io.containerd.image.name": `${source.host}/src/app:v1`, "org.opencontainers.image.ref.name": "v1" },
      ],
    ]);
    const described = JSON.parse(content("airlock-bundle.json").toString()) as {
      images: Array<{ source: string; digest: string; platforms: string[]; size: number }>;
      tool: { name: string };
    };
    expect(described.tool.name).toBe("airlock-registry");
    expect(described.images.map((i) => [i.source, i.digest, i.platforms])).toEqual([
      [`${source.host}/src/multi:1.0`, multi.indexDigest, ["linux/amd64", "linux/arm64"]],
      [`${source.host}/src/app:v1`, appDigest, ["linux/ppc64le"]],
    ]);
    // Manifests (the index, its two images, the Docker image) before every config and layer.
    const manifests = [multi.indexDigest, ...Object.values(multi.manifestDigests), appDigest];
    const blobNames = names.filter((n) => n.startsWith("blobs/sha256/"));
    expect(new Set(blobNames.slice(0, 4))).toEqual(new Set(manifests.map((d) => `blobs/sha256/${d.slice(7)}`)));

    // skopeo reads the bundle as an oci-archive.
    const inspected = await ok("skopeo", ["inspect", "--raw", `oci-archive:${bundle}:1.0`]);
    expect(sha256(Buffer.from(inspected.stdout))).toBe(multi.indexDigest);
  });

  it("imports with the command line; skopeo pulls the result with digests preserved; a rerun skips everything", async () => {
    await fx.api(target).createProject("airgap");
    const flags = [
      "--url",
      target.url,
      "--project",
      "airgap",
      "--ca-file",
      fx.caFile,
      "--password-file",
      fx.passwordFile,
    ];
    const imported = await fx.airlock(["import", ...flags, bundle]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(
      `imported ${source.host}/src/multi:1.0 as airgap/src/multi:1.0 ${multi.indexDigest}`,
    );
    expect(imported.stdout).toMatch(
      /^imported 2 image\(s\) into airgap: 6 blob\(s\) pushed .*, 0 already present, 4 manifest\(s\)/,
    );

    const out = path.join(fx.work.dir, "pulled");
    await ok("skopeo", [
      "copy",
      "--all",
      "--src-cert-dir",
      fx.certDir,
      "--src-creds",
      fx.creds,
      docker(target, "airgap/src/multi:1.0"),
      `oci:${out}:multi`,
    ]);
    const pulled = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    expect(pulled.manifests[0]?.digest).toBe(multi.indexDigest);
    const arm = multi.manifestDigests["arm64"] ?? "";
    expect(existsSync(path.join(out, "blobs", "sha256", arm.slice(7)))).toBe(true);
    await ok("skopeo", [
      "copy",
      "--src-cert-dir",
      fx.certDir,
      "--src-creds",
      fx.creds,
      docker(target, "airgap/src/app:v1"),
      `dir:${path.join(fx.work.dir, "app")}`,
    ]);
    expect(sha256(readFileSync(path.join(fx.work.dir, "app", "manifest.json")))).toBe(appDigest);
    expect(await rawDigest(target, "airgap/src/app:v1")).toBe(appDigest);

    const again = await fx.airlock(["import", ...flags, bundle]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/: 0 blob\(s\) pushed \(0 B\), 6 already present/);
  });

  it("imports with the API, into another project, and skips everything the second time", async () => {
    const api = fx.api(target);
    await api.createProject("viaapi");
    const first = await api.importFile("viaapi", bundle);
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({
      project_name: "viaapi",
      format: "oci-layout",
      images: [
        {
          source: `${source.host}/src/multi:1.0`,
          repository: "viaapi/src/multi",
          tags: ["1.0"],
          digest: multi.indexDigest,
        },
        { source: `${source.host}/src/app:v1`, repository: "viaapi/src/app", tags: ["v1"], digest: appDigest },
      ],
      manifests: 4,
      blobs_stored: 6,
      blobs_skipped: 0,
    });
    expect(await rawDigest(target, "viaapi/src/multi:1.0")).toBe(multi.indexDigest);
    expect(await rawDigest(target, "viaapi/src/app:v1")).toBe(appDigest);
    const second = await api.importFile("viaapi", bundle);
    expect(second.json).toMatchObject({ blobs_stored: 0, blobs_skipped: 6, bytes_stored: 0 });

    // The command line's --via-api sends the file to the same API.
    const viaCli = await fx.airlock([
      "import",
      "--via-api",
      "--url",
      target.url,
      "--project",
      "viaapi",
      "--repository-prefix",
      "mirror",
      "--ca-file",
      fx.caFile,
      "--password-file",
      fx.passwordFile,
      bundle,
    ]);
    expect(viaCli.status, viaCli.stderr).toBe(0);
    expect(viaCli.stdout).toMatch(/^imported 2 image\(s\) into viaapi: 0 blob\(s\) stored .*, 6 already present/);
    expect(await rawDigest(target, "viaapi/mirror/src/multi:1.0")).toBe(multi.indexDigest);
  });

  it("refuses a bundle with one byte flipped in a layer, leaving no manifest", async () => {
    const handle = await open(bundle, "r");
    const entries = [...(await scanTarFile(handle)).values()];
    await handle.close();
    const layer = entries.filter((e) => e.name.startsWith("blobs/")).at(-1);
    const corrupt = path.join(fx.work.dir, "corrupt.tar");
    copyFileSync(bundle, corrupt);
    const data = readFileSync(corrupt);
    const at = (layer?.offset ?? 0) + Math.floor((layer?.size ?? 0) / 2);
    data[at] = (data[at] ?? 0) ^ 0x01;
    writeFileSync(corrupt, data);

    // A registry that holds none of it: elsewhere the command line would mount its good copies.
    const clean = await fx.start();
    const api = fx.api(clean);
    await api.createProject("corrupt");
    const refused = await api.importFile("corrupt", corrupt);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(`${layer?.name} does not match its digest`);
    const cli = await fx.airlock([
      "import",
      "--url",
      clean.url,
      "--project",
      "corrupt",
      "--ca-file",
      fx.caFile,
      "--password-file",
      fx.passwordFile,
      corrupt,
    ]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/DIGEST_INVALID/);
    // Verified blobs may stay (a rerun skips them); no manifest and no tag do.
    for (const [name, tag, digest] of [
      ["corrupt/src/multi", "1.0", multi.indexDigest],
      ["corrupt/src/app", "v1", appDigest],
    ] as const) {
      const tags = await api.call("GET", `/v2/${name}/tags/list`);
      expect(tags.status === 404 || (tags.json as { tags: string[] }).tags.length === 0, tags.text).toBe(true);
      for (const reference of [tag, digest]) {
        expect((await api.call("HEAD", `/v2/${name}/manifests/${reference}`)).status).toBe(404);
      }
    }

    // The sound bundle then resumes where the refused ones stopped: only the bad layer is sent.
    const resumed = await fx.airlock([
      "import",
      "--url",
      clean.url,
      "--project",
      "corrupt",
      "--ca-file",
      fx.caFile,
      "--password-file",
      fx.passwordFile,
      bundle,
    ]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/: 1 blob\(s\) pushed .*, 5 already present, 4 manifest/);
    const head = await api.call("HEAD", "/v2/corrupt/src/app/manifests/v1");
    expect(head.status).toBe(200);
  });

  it("fails an export cleanly: an unknown image leaves no file, a usage error exits 2", async () => {
    const output = path.join(fx.work.dir, "never.tar");
    const failed = await fx.airlock([
      "export",
      "--output",
      output,
      "--ca-file",
      fx.caFile,
      "--creds-file",
      fx.credsFile([source.host]),
      `${source.host}/src/multi:1.0`,
      `${source.host}/src/missing:1`,
    ]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`${source.host}/src/missing:1: image not found on the registry`);
    expect(readdirSync(fx.work.dir).filter((f) => f.includes("never"))).toEqual([]);
    const usage = await run(process.execPath, [
      path.resolve(import.meta.dirname, "../../src/main.ts"),
      "export",
      "nginx",
    ]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--output is required");
  });
});
