// Archives other tools make, imported and pulled back with skopeo: a `docker save` archive built
// by hand (manifest.json, config, uncompressed layer tars, a second image whose layer is a link
// to the first's), the same gzip'd, and skopeo's own oci-archive (blobs before index.json, named
// by tag only).

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarWithFile, writeMultiPlatformLayout, type LayoutImage } from "../clients/oci-layout.ts";
import {
  createFixture,
  docker,
  ok,
  type ApiClient,
  type TlsRegistry,
  type TransferFixture,
} from "./transfer-fixture.ts";

const hex = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

interface Saved {
  file: string;
  layerDigest: string;
}

/** A `docker save` archive as Docker before 25 writes it, made with GNU tar from a directory. */
function dockerSave(dir: string): Saved {
  const root = path.join(dir, "saved");
  const layer = tarWithFile("hello.txt", Buffer.from("hello from docker save\n"));
  const [id1, id2] = [hex("layer-1"), hex("layer-2")];
  mkdirSync(path.join(root, id1), { recursive: true });
  mkdirSync(path.join(root, id2), { recursive: true });
  writeFileSync(path.join(root, id1, "layer.tar"), layer);
  writeFileSync(path.join(root, id1, "VERSION"), "1.0");
  writeFileSync(path.join(root, id2, "VERSION"), "1.0");
  // Docker links a layer the archive already holds instead of writing it twice.
  symlinkSync(`../${id1}/layer.tar`, path.join(root, id2, "layer.tar"));
  const config = (cmd: string): Buffer =>
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: [cmd] },
        rootfs: { type: "layers", diff_ids: [`sha256:${hex(layer)}`] },
      }),
    );
  const [config1, config2] = [config("/hello"), config("/other")];
  writeFileSync(path.join(root, `${hex(config1)}.json`), config1);
  writeFileSync(path.join(root, `${hex(config2)}.json`), config2);
  writeFileSync(
    path.join(root, "manifest.json"),
    JSON.stringify([
      {
        Config: `${hex(config1)}.json`,
        RepoTags: ["hello:1", "localhost:5000/team/hello:2"],
        Layers: [`${id1}/layer.tar`],
      },
      { Config: `${hex(config2)}.json`, RepoTags: ["other:1"], Layers: [`${id2}/layer.tar`] },
    ]),
  );
  writeFileSync(path.join(root, "repositories"), JSON.stringify({ hello: { "1": id1 } }));
  const file = path.join(dir, "saved.tar");
  execFileSync("tar", ["-cf", file, "-C", root, "."]);
  return { file, layerDigest: `sha256:${hex(layer)}` };
}

describe("importing archives made by other tools", () => {
  let fx: TransferFixture;
  let target: TlsRegistry;
  let api: ApiClient;
  let saved: Saved;
  let multi: LayoutImage;

  async function inspect(
    name: string,
  ): Promise<{ digest: string; manifest: { mediaType: string; layers: Array<{ digest: string }> } }> {
    const raw = await ok("skopeo", [
      "inspect",
      "--raw",
      "--cert-dir",
      fx.certDir,
      "--creds",
      fx.creds,
      docker(target, name),
    ]);
    return { digest: `sha256:${hex(raw.stdout)}`, manifest: JSON.parse(raw.stdout) as never };
  }

  beforeAll(async () => {
    fx = createFixture();
    target = await fx.start();
    api = fx.api(target);
    saved = dockerSave(fx.work.dir);
    multi = writeMultiPlatformLayout(path.join(fx.work.dir, "layout"), "1.0");
  });

  afterAll(async () => {
    await fx?.stop();
  });

  it("imports a docker save archive with the API, building Docker schema 2 manifests that skopeo pulls", async () => {
    await api.createProject("saved");
    const imported = await api.importFile("saved", saved.file);
    expect(imported.status, imported.text).toBe(200);
    expect(imported.json).toMatchObject({
      format: "docker-archive",
      images: [
        { source: "hello:1", repository: "saved/library/hello", tags: ["1"] },
        { source: "localhost:5000/team/hello:2", repository: "saved/team/hello", tags: ["2"] },
        { source: "other:1", repository: "saved/library/other", tags: ["1"] },
      ],
      manifests: 3,
    });
    const hello = await inspect("saved/library/hello:1");
    expect(hello.manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(hello.manifest.layers.map((l) => l.digest)).toEqual([saved.layerDigest]);
    const other = await inspect("saved/library/other:1");
    expect(other.manifest.layers.map((l) => l.digest)).toEqual([saved.layerDigest]);
    const out = path.join(fx.work.dir, "pulled-saved");
    await ok("skopeo", [
      "copy",
      "--src-cert-dir",
      fx.certDir,
      "--src-creds",
      fx.creds,
      docker(target, "saved/team/hello:2"),
      `dir:${out}`,
    ]);
    // dir: keeps what it pulls as it is (oci: would compress the uncompressed layer).
    const layer = path.join(out, saved.layerDigest.slice(7));
    expect(hex(readFileSync(layer))).toBe(saved.layerDigest.slice(7));
  });

  it("imports the same archive gzip'd through the API, and with the command line", async () => {
    await api.createProject("saved-gz");
    const gzipped = path.join(fx.work.dir, "saved.tar.gz");
    writeFileSync(gzipped, gzipSync(readFileSync(saved.file)));
    const imported = await api.importFile("saved-gz", gzipped, "", "application/gzip");
    expect(imported.status, imported.text).toBe(200);
    expect((await inspect("saved-gz/library/other:1")).manifest.layers[0]?.digest).toBe(saved.layerDigest);

    await api.createProject("saved-cli");
    const cli = await fx.airlock([
      "import",
      "--url",
      target.url,
      "--project",
      "saved-cli",
      "--ca-file",
      fx.caFile,
      "--password-file",
      fx.passwordFile,
      saved.file,
    ]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^imported 3 image\(s\) into saved-cli/);
    const viaApi = await inspect("saved/library/hello:1");
    expect((await inspect("saved-cli/library/hello:1")).digest).toBe(viaApi.digest);
  });

  it("imports skopeo's oci-archive (blobs first, named by tag only) into the repository given", async () => {
    const archive = path.join(fx.work.dir, "skopeo.tar");
    await ok("skopeo", ["copy", "--all", `oci:${path.join(fx.work.dir, "layout")}:1.0`, `oci-archive:${archive}:1.0`]);
    await api.createProject("tools");
    const unnamed = await api.importFile("tools", archive);
    expect(unnamed.status).toBe(400);
    expect(unnamed.text).toContain("names image");
    const imported = await api.importFile("tools", archive, "?repository=base/multi");
    expect(imported.status, imported.text).toBe(200);
    expect(imported.json).toMatchObject({
      images: [{ repository: "tools/base/multi", tags: ["1.0"], digest: multi.indexDigest }],
    });
    expect((await inspect("tools/base/multi:1.0")).digest).toBe(multi.indexDigest);
  });
});
