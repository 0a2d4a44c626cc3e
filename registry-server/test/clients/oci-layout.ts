// Builds small OCI image layouts on disk for the client tests: real gzip'd tar layers, image
// configs, manifests and a multi-platform index, as an image build would leave them.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";

export interface LayoutImage {
  /** Digest of the index (multi-platform) pushed as the tag. */
  indexDigest: string;
  indexBytes: Buffer;
  /** Digests of the per-platform image manifests. */
  manifestDigests: Record<string, string>;
}

/** A POSIX ustar archive holding one regular file. */
export function tarWithFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => header.write(value, offset, length, "ascii");
  field(name, 0, 100);
  field("0000644\0", 100, 8);
  field("0000000\0", 108, 8);
  field("0000000\0", 116, 8);
  field(content.length.toString(8).padStart(11, "0") + "\0", 124, 12);
  field("00000000000\0", 136, 12);
  field("        ", 148, 8);
  field("0", 156, 1);
  field("ustar\0", 257, 6);
  field("00", 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes an OCI layout at `dir` whose index.json names a multi-platform image as `tag`. */
export function writeMultiPlatformLayout(
  dir: string,
  tag: string,
  platforms: string[] = ["amd64", "arm64"],
): LayoutImage {
  const blobs = path.join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const put = (data: Buffer): string => {
    const hex = sha256(data);
    writeFileSync(path.join(blobs, hex), data);
    return `sha256:${hex}`;
  };

  const manifestDigests: Record<string, string> = {};
  const entries = platforms.map((architecture) => {
    const tar = tarWithFile("hello.txt", Buffer.from(`hello from ${architecture}\n`));
    const layer = gzipSync(tar);
    const layerDigest = put(layer);
    const config = Buffer.from(
      JSON.stringify({
        architecture,
        os: "linux",
        config: { Cmd: ["/hello"] },
        rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar)}`] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: put(config), size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
      }),
    );
    const digest = put(manifest);
    manifestDigests[architecture] = digest;
    return {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: manifest.length,
      platform: { architecture, os: "linux" },
    };
  });
  const indexBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries }),
  );
  const indexDigest = put(indexBytes);
  writeFileSync(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.index.v1+json",
          digest: indexDigest,
          size: indexBytes.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { indexDigest, indexBytes, manifestDigests };
}
