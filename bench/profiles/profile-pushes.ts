// The push workload of the push-*.cpuprofile.gz files: one registry process (`workers: 1`,
// filesystem and SQLite, basic authentication as admin) run under `node --cpu-prof`, and curl
// pushing 3 blobs of 128 MiB monolithically (POST, then PUT with the body) and 3 in 8 PATCHes of
// 16 MiB each. Prints each push's time and the server's CPU per GiB, per thread, then where the
// profile went.
//
//   node bench/profiles/profile-pushes.ts OUTPUT_DIR
//   node bench/profiles/flame-graph.ts OUTPUT_DIR/CPU.*.cpuprofile push.svg --top 30

import { execFileSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startProfiledServer, threadSeconds } from "./profiled-server.ts";

const MiB = 1024 * 1024;
const BLOB_MIB = 128;
const CHUNK_MIB = 16;
const REPOSITORY = "profile/blobs";

const profiled = await startProfiledServer("profile-pushes.ts");
const server = profiled.server;

const authorization = server.target.headers["Authorization"] ?? "";
/** curl's response headers, failing unless the status is `status`. */
function curl(status: number, args: string[]): string {
  const headers = execFileSync(
    "curl",
    ["-sS", "-D", "-", "-o", "/dev/null", "-H", `Authorization: ${authorization}`, ...args],
    { encoding: "utf8", maxBuffer: MiB },
  );
  if (!new RegExp(`^HTTP/1\\.1 ${status} `, "m").test(headers)) throw new Error(`expected ${status}:\n${headers}`);
  return headers;
}
function location(headers: string): string {
  const value = /^location: (.*)$/im.exec(headers)?.[1]?.trim() ?? "";
  return value.startsWith("http") ? value : server.target.origin + value;
}
const withDigest = (url: string, digest: string) => `${url}${url.includes("?") ? "&" : "?"}digest=${digest}`;

const blob = Buffer.alloc(BLOB_MIB * MiB);
randomFillSync(blob);
/** curl's request bodies, as files. */
const clientDir = mkdtempSync(path.join(tmpdir(), "airlock-profile-client-"));
const blobFile = path.join(clientDir, "blob");
const chunkFile = path.join(clientDir, "chunk");
const before = threadSeconds(server.roots);
try {
  for (let push = 0; push < 6; push++) {
    const monolithic = push < 3;
    randomFillSync(blob, 0, 64);
    writeFileSync(blobFile, blob);
    const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
    execFileSync("sync");
    let at = location(curl(202, ["-X", "POST", `${server.target.origin}/v2/${REPOSITORY}/blobs/uploads/`]));
    const started = performance.now();
    if (monolithic) {
      const body = ["-H", "Content-Type: application/octet-stream", "--data-binary", `@${blobFile}`];
      curl(201, ["-X", "PUT", ...body, withDigest(at, digest)]);
    } else {
      for (let offset = 0; offset < blob.length; offset += CHUNK_MIB * MiB) {
        const end = offset + CHUNK_MIB * MiB;
        writeFileSync(chunkFile, blob.subarray(offset, end));
        const range = ["-H", `Content-Range: ${offset}-${end - 1}`, "-H", "Content-Type: application/octet-stream"];
        at = location(curl(202, ["-X", "PATCH", ...range, "--data-binary", `@${chunkFile}`, at]));
      }
      curl(201, ["-X", "PUT", withDigest(at, digest)]);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${monolithic ? "monolithic" : "chunked"} push of ${BLOB_MIB} MiB: ${seconds.toFixed(2)} s`);
  }
  const pushedGiB = (6 * BLOB_MIB) / 1024;
  const perThread = [...threadSeconds(server.roots)]
    .map(([name, total]) => [name, (total - (before.get(name) ?? 0)) / pushedGiB] as const)
    .filter(([, perGiB]) => perGiB >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  console.log(`server CPU per GiB pushed: ${perThread.map(([name, s]) => `${name} ${s.toFixed(2)} s`).join(", ")}`);
} finally {
  await profiled.stop();
  rmSync(clientDir, { recursive: true, force: true });
}
