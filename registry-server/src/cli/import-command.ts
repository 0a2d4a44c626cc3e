// `airlock-registry import`: brings an air-gap bundle, an OCI layout tar or a `docker save`
// archive into a project of a running registry. By default it pushes through /v2 itself: each
// blob is first looked for (HEAD) and mounted when the registry has it elsewhere, so a rerun
// after an interruption sends only what is missing; uploads carry their digest, which the
// registry verifies; manifests go last, children first. `--via-api` instead sends the whole
// file to the import API, which reads it as a stream (for the server to do the work).
// Exit status: 0 imported, 1 failed, 2 usage, 3 refused for a limit (the archive is larger than the
// registry takes in one import, its metadata larger than a manifest may be, or the project's
// quota has no room): running it again as it is fails again.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform, pipeline } from "node:stream";
import { request, Agent } from "undici";
import { neededBlobs, planImport, sparseIndexRefusal } from "../transfer/archive-plan.ts";
import { PlanError, type ImportNaming, type ImportPlan } from "../transfer/archive-types.ts";
import { FileArchive } from "../transfer/file-archive.ts";
import { OversizedEntryError } from "../transfer/import-limits.ts";
import { TarFormatError } from "../transfer/tar-format.ts";
import {
  apiError,
  CommandError,
  ManagementClient,
  managementTarget,
  type ManagementTarget,
} from "./management-client.ts";
import { formatBytes } from "./preheat-command.ts";
import { PushError, RegistryPusher } from "./registry-pusher.ts";
import { CONNECTION_OPTIONS, helpAsked, parseCommandArgs } from "./command-args.ts";

export const IMPORT_USAGE = `usage: airlock-registry import --url URL --project NAME [flags] ARCHIVE

Imports an air-gap bundle (airlock-registry export), any OCI image layout tar, or a docker save
archive into a project. docker.io/library/nginx:1.25 lands in <project>/library/nginx:1.25.
Blobs the registry already has are not sent again: run it again after an interruption.

  --url URL                  the registry (or AIRLOCK_URL)
  --project NAME             the project to import into (not a proxy cache)
  --repository-prefix PATH   put images under <project>/<PATH>/...
  --repository NAME          repository for images the archive names by tag only, or not at all
  --via-api                  send the file to the import API instead of pushing through /v2
  --username NAME            (or AIRLOCK_USERNAME; default admin)
  --password-file FILE       (or AIRLOCK_PASSWORD)
  --ca-file FILE             CA certificate to trust for the registry

Exit status: 0 imported, 1 failed, 2 usage error, 3 refused for a limit (import size, metadata
size or the project's quota): the same archive will be refused again.
`;

/** The registry or the archive's own sizes refuse this import: exit status 3. */
class LimitRefusal extends PushError {
  override name = "LimitRefusal";
}

/** Harbor's wording of a quota refusal, on /v2 and the import API alike. */
const QUOTA_REFUSAL = /will exceed the configured upper limit/;

/** Writes progress lines (stderr) and the summary (stdout). */
export interface CommandOutput {
  readonly progress: NodeJS.WritableStream;
  readonly result: NodeJS.WritableStream;
}

function counting(onBytes: (bytes: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

/** Reports bytes at most every two seconds. */
function throttled(report: (bytes: number) => void): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < 2000) return;
    last = now;
    report(bytes);
  };
}

/** The project must exist and take pushes: said plainly before any blob is looked for. */
async function checkProject(target: ManagementTarget, project: string): Promise<void> {
  const client = new ManagementClient(target);
  try {
    const reply = await client.call("GET", `/projects/${encodeURIComponent(project)}`);
    if (reply.status === 404) throw new PushError(`project ${project} not found`);
    if (reply.status === 401) throw new PushError("the registry refused the credentials");
    if (reply.status !== 200) throw apiError(reply, `reading project ${project}`);
    if ((reply.body as { registry_id?: unknown }).registry_id != null) {
      throw new PushError(`project ${project} is a proxy-cache project: images cannot be imported into it`);
    }
  } finally {
    await client.close();
  }
}

/**
 * Sparse indexes (children the archive does not hold) go first, alone: the registry says at once
 * whether it takes them, before any blob is sent. Returns the indexes the probe stored, which a
 * failed import takes back.
 */
async function probeSparseIndexes(pusher: RegistryPusher, plan: ImportPlan): Promise<Array<[string, string]>> {
  const stored: Array<[string, string]> = [];
  for (const manifest of plan.manifests) {
    if (manifest.absentChildren.length === 0) continue;
    if (await pusher.hasManifest(manifest.repository, manifest.digest)) continue;
    const outcome = await pusher.probeIndex(manifest.repository, manifest.digest, manifest.mediaType, manifest.content);
    if (outcome === "stored") {
      stored.push([manifest.repository, manifest.digest]);
      continue;
    }
    // What it lacks but the archive brings arrives below; what the archive lacks never will.
    const refused = manifest.absentChildren.filter((child) => outcome.required.includes(child.digest));
    if (refused.length > 0) throw new PlanError(sparseIndexRefusal(manifest, refused));
  }
  return stored;
}

async function pushArchive(
  archive: FileArchive,
  naming: ImportNaming,
  target: ManagementTarget,
  out: CommandOutput,
): Promise<void> {
  const started = Date.now();
  const plan = await planImport(archive, naming);
  const needed = neededBlobs(plan);
  const total = [...needed.values()].reduce((sum, n) => sum + n.size, 0);
  out.progress.write(
    `importing ${plan.images.length} image(s) from ${archive.file} (${plan.format}) into ${naming.project}: ` +
      `${needed.size} blob(s), ${formatBytes(total)}\n`,
  );
  await checkProject(target, naming.project);
  const pusher = new RegistryPusher(target);
  let pushed = 0;
  let present = 0;
  let bytes = 0;
  let probed: Array<[string, string]> = [];
  let done = false;
  try {
    await pusher.check();
    probed = await probeSparseIndexes(pusher, plan);
    for (const need of needed.values()) {
      for (const repository of need.repositories) {
        const short = `${need.digest.slice(0, 19)}…`;
        if (await pusher.hasBlob(repository, need.digest)) {
          present++;
          out.progress.write(`  present  ${repository} ${short}\n`);
          continue;
        }
        if (await pusher.mount(repository, need.digest)) {
          present++;
          out.progress.write(`  mounted  ${repository} ${short}\n`);
          continue;
        }
        if (!archive.has(need.path)) {
          if (need.optional) continue;
          throw new PlanError(`the archive lacks blob ${need.digest}, and ${repository} does not hold it`);
        }
        const report = throttled((sent) =>
          out.progress.write(`  sending  ${short} ${formatBytes(sent)} of ${formatBytes(need.size)}\n`),
        );
        const body = counting(report);
        pipeline(archive.stream(need.path), body, () => {});
        await pusher.upload(repository, need.digest, need.size, body);
        pushed++;
        bytes += need.size;
        out.progress.write(`  pushed   ${repository} ${short} (${formatBytes(need.size)})\n`);
      }
    }
    for (const manifest of plan.manifests) {
      await pusher.putManifest(
        manifest.repository,
        manifest.digest,
        manifest.mediaType,
        manifest.content,
        manifest.tags,
      );
    }
    for (const image of plan.images) {
      const name = image.tags.length > 0 ? `${image.repository}:${image.tags.join(",")}` : image.repository;
      out.progress.write(`imported ${image.source} as ${name} ${image.digest}\n`);
    }
    done = true;
  } finally {
    // No sparse index stays without the images this import was to bring with it.
    if (!done)
      for (const [repository, digest] of probed) await pusher.deleteManifest(repository, digest).catch(() => {});
    await pusher.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  out.result.write(
    `imported ${plan.images.length} image(s) into ${naming.project}: ${pushed} blob(s) pushed (${formatBytes(bytes)}), ` +
      `${present} already present, ${plan.manifests.length} manifest(s), in ${seconds} s\n`,
  );
}

async function postArchive(
  file: string,
  naming: ImportNaming,
  target: ManagementTarget,
  out: CommandOutput,
): Promise<void> {
  const size = (await stat(file)).size;
  const query = new URLSearchParams({
    ...(naming.prefix !== undefined && { repository_prefix: naming.prefix }),
    ...(naming.repository !== undefined && { repository: naming.repository }),
  }).toString();
  const url = `${target.url}/api/v2.0/projects/${encodeURIComponent(naming.project)}/imports${query ? `?${query}` : ""}`;
  out.progress.write(`sending ${file} (${formatBytes(size)}) to the import API of ${naming.project}\n`);
  const body = counting(
    throttled((sent) => out.progress.write(`  sent ${formatBytes(sent)} of ${formatBytes(size)}\n`)),
  );
  pipeline(createReadStream(file), body, () => {});
  // The answer comes once the server has stored everything: no time limit on it.
  const dispatcher = new Agent({
    connect: target.caPem ? { ca: target.caPem } : {},
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  try {
    const auth = Buffer.from(`${target.username}:${target.password}`).toString("base64");
    const reply = await request(url, {
      method: "POST",
      dispatcher,
      headers: { authorization: `Basic ${auth}`, "content-type": "application/x-tar", "content-length": String(size) },
      body,
    });
    const json = (await reply.body.json().catch(() => ({}))) as {
      errors?: Array<{ code?: string; message?: string }>;
      images?: Array<{ source: string; repository: string; tags: string[]; digest: string }>;
      manifests?: number;
      blobs_stored?: number;
      blobs_skipped?: number;
      bytes_stored?: number;
    };
    if (reply.statusCode !== 200) {
      const first = json.errors?.[0];
      const message = `the import API refused the archive: ${first ? `${first.code}: ${first.message}` : `HTTP ${reply.statusCode}`}`;
      const overLimit =
        reply.statusCode === 413 || (reply.statusCode === 403 && QUOTA_REFUSAL.test(first?.message ?? ""));
      throw overLimit ? new LimitRefusal(message) : new PushError(message);
    }
    for (const image of json.images ?? []) {
      out.progress.write(`imported ${image.source} as ${image.repository}:${image.tags.join(",")} ${image.digest}\n`);
    }
    out.result.write(
      `imported ${json.images?.length ?? 0} image(s) into ${naming.project}: ${json.blobs_stored ?? 0} blob(s) stored ` +
        `(${formatBytes(json.bytes_stored ?? 0)}), ${json.blobs_skipped ?? 0} already present, ${json.manifests ?? 0} manifest(s)\n`,
    );
  } finally {
    await dispatcher.close();
  }
}

export async function importCommand(args: string[], out: CommandOutput): Promise<number> {
  if (helpAsked(args, IMPORT_USAGE, out.result)) return 0;
  const parsed = parseCommandArgs(
    args,
    {
      ...CONNECTION_OPTIONS,
      project: { type: "string" },
      "repository-prefix": { type: "string" },
      repository: { type: "string" },
      "via-api": { type: "boolean" },
    },
    IMPORT_USAGE,
  );
  const flags = parsed.values;
  if (!flags.project) throw new CommandError(`--project is required\n\n${IMPORT_USAGE}`);
  if (parsed.positionals.length !== 1) throw new CommandError(`give one archive to import\n\n${IMPORT_USAGE}`);
  const file = parsed.positionals[0] ?? "";
  const target = managementTarget(flags);
  const naming: ImportNaming = {
    project: flags.project,
    ...(flags["repository-prefix"] !== undefined && { prefix: flags["repository-prefix"] }),
    ...(flags.repository !== undefined && { repository: flags.repository }),
  };
  try {
    if (flags["via-api"]) {
      await postArchive(file, naming, target, out);
      return 0;
    }
    const archive = await FileArchive.open(file);
    try {
      await pushArchive(archive, naming, target, out);
    } finally {
      await archive.close();
    }
    return 0;
  } catch (err) {
    if (
      err instanceof OversizedEntryError ||
      err instanceof LimitRefusal ||
      (err instanceof PushError && QUOTA_REFUSAL.test(err.message))
    ) {
      out.progress.write(`airlock-registry import: ${err.message}\n`);
      return 3;
    }
    if (
      err instanceof PlanError ||
      err instanceof TarFormatError ||
      err instanceof PushError ||
      err instanceof CommandError
    ) {
      out.progress.write(`airlock-registry import: ${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR") {
      out.progress.write(`airlock-registry import: cannot read ${file}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
