// Harbor's artifact additions (`…/artifacts/{reference}/additions/{addition}`): an image's build
// history, read from its config, and a Helm chart's values.yaml, README.md and dependencies,
// read from the chart's archive (the manifest's chart layer, a gzipped tar). The archive is
// streamed and bounded: compressed and uncompressed bytes and the files kept are capped, so a
// crafted "chart" cannot make the server inflate or hold more than a few megabytes.

import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { parseYaml } from "../yaml-parser.ts";
import type { BlobStore } from "../content/blob-store.ts";
import { HarborError } from "../http/errors.ts";
import type { ArtifactRecord } from "../metadata/artifact-store.ts";
import { readTar } from "../transfer/tar-reader.ts";
import { additionsOf, artifactTypeOf, harborMediaType, isRecord, type Addition } from "./artifact-types.ts";
import { chartLayer, type ArtifactView } from "./artifact-view.ts";

/** A chart archive larger than this (compressed) is not opened. */
const MAX_CHART_BYTES = 16 * 1024 * 1024;
/** Uncompressed bytes read from an archive before giving up: a gzip bomb stops here. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;
/** A file kept from an archive (values.yaml, README.md, Chart.yaml) is at most this large. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface AdditionContent {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The addition names of the URL, as Harbor reads them (case-insensitively). */
export function parseAddition(text: string): Addition | undefined {
  const lower = text.toLowerCase();
  return (["build_history", "values.yaml", "readme.md", "dependencies"] as const).find((a) => a === lower);
}

export async function additionContent(
  deps: { view: ArtifactView; blobs: BlobStore },
  repository: string,
  record: ArtifactRecord,
  name: string,
): Promise<AdditionContent> {
  const type = artifactTypeOf(harborMediaType(record));
  const addition = parseAddition(name);
  if (!addition || !additionsOf(type, record.mediaType).includes(addition)) {
    throw new HarborError("BAD_REQUEST", `addition ${name.toUpperCase()} isn't supported for ${type}`);
  }
  const loaded = await deps.view.load(repository, record);
  const manifest = loaded?.json;
  if (!manifest) throw new HarborError("NOT_FOUND", `artifact ${record.digest} not found`);
  if (addition === "build_history") {
    const config = await deps.view.config(repository, manifest);
    if (!config)
      throw new HarborError("NOT_FOUND", `the config of artifact ${record.digest} is not in this repository`);
    return json(config["history"] ?? null);
  }
  const files = await chartFiles(deps.blobs, repository, chartLayer(manifest)?.digest);
  switch (addition) {
    case "values.yaml":
      return { contentType: "text/plain; charset=utf-8", body: files.values ?? Buffer.alloc(0) };
    case "readme.md":
      return { contentType: "text/markdown; charset=utf-8", body: files.readme ?? Buffer.alloc(0) };
    case "dependencies":
      return json(dependencies(files));
  }
}

function json(value: unknown): AdditionContent {
  return { contentType: "application/json; charset=utf-8", body: Buffer.from(JSON.stringify(value)) };
}

interface ChartFiles {
  chart?: Buffer;
  values?: Buffer;
  readme?: Buffer;
  requirements?: Buffer;
}

/** The chart's top-level files Harbor reads, from the archive in the repository. */
async function chartFiles(blobs: BlobStore, repository: string, digest: string | undefined): Promise<ChartFiles> {
  const blob = digest === undefined ? undefined : await blobs.stat(repository, digest);
  if (!blob) throw new HarborError("NOT_FOUND", "the chart's archive is not in this repository");
  if (blob.size > MAX_CHART_BYTES) throw new HarborError("BAD_REQUEST", "the chart's archive is too large to read");
  const source = await blobs.open(blob);
  const gunzip = source.pipe(createGunzip());
  source.on("error", (err) => gunzip.destroy(err));
  const files: ChartFiles = {};
  let inflated = 0;
  const bounded = Readable.from(
    (async function* () {
      for await (const chunk of gunzip) {
        inflated += (chunk as Buffer).length;
        if (inflated > MAX_INFLATED_BYTES)
          throw new HarborError("BAD_REQUEST", "the chart's archive is too large to read");
        yield chunk as Buffer;
      }
    })(),
  );
  try {
    for await (const entry of readTar(bounded)) {
      // `<chart>/<file>`: the chart's own files, not those of its subcharts under charts/.
      const parts = entry.name.split("/");
      if (entry.type !== "file" || parts.length !== 2 || entry.size > MAX_FILE_BYTES) continue;
      const key = (
        {
          "chart.yaml": "chart",
          "values.yaml": "values",
          "readme.md": "readme",
          "requirements.yaml": "requirements",
        } as const
      )[(parts[1] ?? "").toLowerCase() as "chart.yaml"];
      if (key === undefined || files[key]) continue;
      const chunks: Buffer[] = [];
      for await (const chunk of entry.body) chunks.push(chunk);
      files[key] = Buffer.concat(chunks);
    }
  } catch (err) {
    if (err instanceof HarborError) throw err;
    throw new HarborError("BAD_REQUEST", `the chart's archive cannot be read: ${(err as Error).message}`);
  } finally {
    gunzip.destroy();
    source.destroy();
  }
  return files;
}

/**
 * The chart's dependencies as Helm's Go structure encodes them: Chart.yaml's for an apiVersion
 * v2 chart, requirements.yaml's for a v1 chart; `null` for none.
 */
function dependencies(files: ChartFiles): unknown {
  const chart = parseYamlRecord(files.chart);
  const source = chart?.["apiVersion"] === "v1" ? parseYamlRecord(files.requirements) : chart;
  const list = source?.["dependencies"];
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.filter(isRecord).map((d) => ({
    name: typeof d["name"] === "string" ? d["name"] : "",
    ...(typeof d["version"] === "string" && d["version"] !== "" && { version: d["version"] }),
    repository: typeof d["repository"] === "string" ? d["repository"] : "",
    ...(typeof d["condition"] === "string" && d["condition"] !== "" && { condition: d["condition"] }),
    ...(Array.isArray(d["tags"]) && d["tags"].length > 0 && { tags: d["tags"] }),
    ...(d["enabled"] === true && { enabled: true }),
    ...(Array.isArray(d["import-values"]) && d["import-values"].length > 0 && { "import-values": d["import-values"] }),
    ...(typeof d["alias"] === "string" && d["alias"] !== "" && { alias: d["alias"] }),
  }));
}

function parseYamlRecord(bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  try {
    const value: unknown = parseYaml(bytes.toString("utf8"));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
