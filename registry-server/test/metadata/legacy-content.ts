// The rows both ids-step migration tests (SQLite and PostgreSQL) write into a database of the
// schema before the step: an image manifest (its config media type to be read from its bytes),
// an index listing it and tagged twice, and a manifest whose bytes are not JSON.

import { digestOf } from "../contracts/metadata-store-contract.ts";

const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const configMediaType = "application/vnd.cncf.helm.config.v1+json";
const config = digestOf("config");

interface LegacyManifest {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly bytes: Buffer;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

function manifest(mediaType: string, bytes: Buffer, createdAt: number, artifactType?: string): LegacyManifest {
  return {
    repository: "team/app",
    digest: digestOf(bytes.toString("latin1")),
    mediaType,
    ...(artifactType !== undefined && { artifactType }),
    bytes,
    createdAt,
  };
}

const t = (seconds: number): number => T0 + seconds * 1000;
const imageBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: configMediaType, digest: config, size: 1 },
    layers: [],
  }),
);
const image = manifest(OCI_MANIFEST, imageBytes, t(3), configMediaType);
const index = manifest(
  OCI_INDEX,
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: imageBytes.length }],
    }),
  ),
  t(4),
);
const opaque = manifest(OCI_MANIFEST, Buffer.from([0xff, 0x00, 0x7b]), t(5));

export const legacyContent = {
  t,
  configMediaType,
  config,
  image,
  index,
  opaque,
  manifests: [image, index, opaque],
  tags: [
    ["latest", index.digest, t(6)],
    ["v1", index.digest, t(7)],
  ] as const,
};
