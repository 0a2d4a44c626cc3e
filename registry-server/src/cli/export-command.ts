// `airlock-registry export`: on a connected machine, writes images from any registry into one
// air-gap bundle file. Progress (per image, and bytes) goes to stderr, the summary to stdout.
// Exits 1 when anything failed, leaving no bundle behind.

import { readFileSync } from "node:fs";
import { ExportError, ExportSources, egressFromEnvironment, readCredentials } from "../transfer/export-sources.ts";
import { exportBundle, type ExportProgress } from "../transfer/exporter.ts";
import { parseImageReference, ReferenceError, type ImageReference } from "../transfer/image-reference.ts";
import { UpstreamError } from "../upstream/upstream-registry.ts";
import type { CommandOutput } from "./import-command.ts";
import { CommandError } from "./management-client.ts";
import { formatBytes } from "./preheat-command.ts";
import { helpAsked, parseCommandArgs } from "./command-args.ts";

export const EXPORT_USAGE = `usage: airlock-registry export --output FILE [flags] IMAGE...

Writes images into an air-gap bundle: an OCI image layout in one tar, with airlock-bundle.json
saying what it holds. IMAGE is a full reference: docker.io/library/nginx:1.25, nginx (Docker Hub),
quay.io/prometheus/prometheus:v2.53.0, registry.example:5443/team/app@sha256:...

  --output FILE             the bundle to write (written whole or not at all)
  --file FILE               more images, one per line (# comments)
  --platform OS/ARCH        platforms of multi-platform images to keep (repeatable; default all):
                            one gives its image, several a new index listing only them
  --sparse-index            with --platform: keep the index itself (its digest, which deployments
                            pin) and only the chosen platforms' images; the importing registry
                            must accept sparse indexes (validation.manifests.indexes)
  --creds-file FILE         docker-style config.json whose "auths" give credentials per registry
  --insecure-registry HOST  do not verify HOST's TLS certificate, or use plain HTTP (repeatable)
  --ca-file FILE            CA certificate to trust for every registry
  --timeout SECONDS         for each request to a registry (default 60)

The egress proxy comes from AIRLOCK_HTTPS_PROXY, AIRLOCK_HTTP_PROXY and AIRLOCK_NO_PROXY, else
from HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
`;

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

function readLines(file: string, flag: string): string[] {
  return readText(file, flag)
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

function reporter(out: NodeJS.WritableStream): ExportProgress {
  let lastBytes = 0;
  return {
    resolved(image) {
      const platforms = image.platforms.length > 0 ? `, ${image.platforms.join(" ")}` : "";
      out.write(
        `resolved ${image.source} ${image.top.digest} (${image.manifests.size} manifest(s)${platforms}; ${formatBytes(image.size)})\n`,
      );
    },
    bytes(done, total) {
      const now = Date.now();
      if (now - lastBytes < 1000 && done !== total) return;
      lastBytes = now;
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      out.write(`  ${formatBytes(done)} of ${formatBytes(total)} (${percent}%)\n`);
    },
    blobDone(blob, index, count) {
      out.write(`  [${index}/${count}] ${blob.kind} ${blob.digest.slice(0, 19)}… ${formatBytes(blob.size)}\n`);
    },
    imageDone(image) {
      out.write(`exported ${image.source}\n`);
    },
    retrying(blob, attempt, error) {
      out.write(`  retrying ${blob.digest.slice(0, 19)}… after attempt ${attempt}: ${error.message}\n`);
    },
  };
}

export async function exportCommand(args: string[], out: CommandOutput, version: string): Promise<number> {
  if (helpAsked(args, EXPORT_USAGE, out.result)) return 0;
  const parsed = parseCommandArgs(
    args,
    {
      output: { type: "string", short: "o" },
      file: { type: "string" },
      platform: { type: "string", multiple: true },
      "sparse-index": { type: "boolean" },
      "creds-file": { type: "string" },
      "insecure-registry": { type: "string", multiple: true },
      "ca-file": { type: "string" },
      timeout: { type: "string" },
    },
    EXPORT_USAGE,
  );
  const flags = parsed.values;
  if (!flags.output) throw new CommandError(`--output is required\n\n${EXPORT_USAGE}`);
  const texts = [...parsed.positionals, ...(flags.file !== undefined ? readLines(flags.file, "--file") : [])];
  if (texts.length === 0) throw new CommandError(`no images given\n\n${EXPORT_USAGE}`);
  const platforms = flags.platform ?? [];
  const badPlatform = platforms.find((p) => !PLATFORM.test(p));
  if (badPlatform !== undefined)
    throw new CommandError(`--platform ${badPlatform}: expected os/architecture[/variant]`);
  const sparseIndex = flags["sparse-index"] === true;
  if (sparseIndex && platforms.length === 0) throw new CommandError("--sparse-index needs --platform");
  const timeoutMs = Number(flags.timeout ?? "60") * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CommandError("--timeout must be a number of seconds");
  let images: ImageReference[];
  try {
    images = texts.map(parseImageReference);
  } catch (err) {
    if (err instanceof ReferenceError) throw new CommandError(err.message);
    throw err;
  }
  const caFile = flags["ca-file"];
  const sources = new ExportSources({
    egress: egressFromEnvironment(process.env, timeoutMs),
    credentials: flags["creds-file"] !== undefined ? readCredentials(flags["creds-file"]) : new Map(),
    insecure: new Set((flags["insecure-registry"] ?? []).map((h) => h.toLowerCase())),
    ...(caFile !== undefined && { caCertificate: readText(caFile, "--ca-file") }),
  });

  // Ctrl-C stops the export and removes the partial file.
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new ExportError("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = Date.now();
  try {
    const summary = await exportBundle({
      images,
      platforms,
      sparseIndex,
      output: flags.output,
      sources,
      toolVersion: version,
      progress: reporter(out.progress),
      signal: abort.signal,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out.result.write(
      `wrote ${summary.output}: ${summary.images} image(s), ${summary.blobs} blob(s), ${formatBytes(summary.bytes)} ` +
        `(${formatBytes(summary.fileBytes)} file) in ${seconds} s\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ExportError || err instanceof UpstreamError || abort.signal.aborted) {
      out.progress.write(
        `airlock-registry export: ${abort.signal.aborted ? "interrupted" : (err as Error).message}; no bundle written\n`,
      );
      return 1;
    }
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await sources.close();
  }
}
