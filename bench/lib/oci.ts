// Registry operations shared by the phases: digests, the OCI media types, and the two requests a
// Docker client makes to push (a blob by POST then PUT ?digest=, a manifest by PUT).

import { createHash } from "node:crypto";
import { expectStatus, location, send, withQuery, type Target } from "./http.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCTETS = { "Content-Type": "application/octet-stream" };

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** POST to open a session, then PUT ?digest= with the whole body (what Docker clients do). */
export async function pushPostPut(t: Target, repo: string, blob: Buffer, digest: string): Promise<void> {
  const opened = expectStatus(await send(t, "POST", `/v2/${repo}/blobs/uploads/`), 202, "POST upload");
  const put = withQuery(location(t, opened, "POST upload"), "digest", digest);
  expectStatus(await send(t, "PUT", put, { body: blob, headers: OCTETS }), 201, "PUT blob");
}

export async function putManifest(t: Target, repo: string, reference: string, manifest: Buffer): Promise<void> {
  const reply = await send(t, "PUT", `/v2/${repo}/manifests/${reference}`, {
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expectStatus(reply, 201, `PUT manifest ${repo}:${reference}`);
}
