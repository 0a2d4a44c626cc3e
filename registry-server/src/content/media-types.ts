// Manifest media types the registry accepts, and what each one is.

export const OCI_IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_IMAGE_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker schema 1 is long deprecated and refused, as current Distribution releases do. */
export const DOCKER_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

export type ManifestKind = "image" | "index";

export const MANIFEST_KINDS: Readonly<Record<string, ManifestKind>> = {
  [OCI_IMAGE_MANIFEST]: "image",
  [DOCKER_MANIFEST]: "image",
  [OCI_IMAGE_INDEX]: "index",
  [DOCKER_MANIFEST_LIST]: "index",
};

/** RFC 6838 type/subtype, as the OCI image spec requires of descriptor media types. */
export const MEDIA_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
