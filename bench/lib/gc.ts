// Garbage collection beside Distribution 3's `garbage-collect`, on the same content, on the
// filesystem and on S3 (versitygw): 1,000 small images (a config and a layer each), then 1 GiB in
// four 256 MiB layers, every manifest deleted, then one collection timed. Airlock collects online
// through its API (POST /system/gc/schedule, Manual, delete_untagged, no grace period) while it
// keeps serving; Distribution must be stopped and collected offline, which is what its users do
// (its online mode is unsafe, see gc/README.md), so its row is the command's run time alone. Each
// subject starts fresh for each backend, so nothing left from the other phases is counted.

import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { expectStatus, send, type Target } from "./http.ts";
import {
  makeSmallImage,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  pushPostPut,
  putManifest,
  pushSmallImage,
  sha256,
} from "./oci.ts";
import { pool, type PhaseContext } from "./phase.ts";
import { format, type Row } from "./report.ts";
import { startS3Server, type S3Server } from "./s3-server.ts";
import {
  distribution3Binary,
  freePort,
  launch,
  logTail,
  startAirlock,
  stopper,
  waitReady,
  type RunningServer,
} from "./servers.ts";
import { newAgent } from "./http.ts";

const LARGE_LAYERS = 4;
const GC_LIMIT_MS = 15 * 60_000;

type Backend = "filesystem" | "S3";

interface Dataset {
  readonly name: string;
  /** Pushes it into `t`, returning each manifest pushed as [repository, digest]. */
  push(t: Target): Promise<Array<[string, string]>>;
}

interface Measured {
  readonly backend: Backend;
  readonly dataset: string;
  readonly airlock?: number;
  readonly d3?: number;
  readonly notes: string[];
}

export interface GcPhaseResult {
  rows: Row[];
  details: string[];
}

function smallDataset(count: number): Dataset {
  return {
    name: `${count.toLocaleString("en-US")} artifacts`,
    async push(t) {
      const images = Array.from({ length: count }, (_, i) =>
        makeSmallImage(i, `bench/gc-${i % 10}`, 1024 + (i % 8) * 512),
      );
      const result = await pool(images, 8, GC_LIMIT_MS, (image) => pushSmallImage(t, image));
      if (result.failed > 0) throw new Error(`${result.failed} small pushes failed: ${result.firstError ?? ""}`);
      return images.map((image) => [image.repo, sha256(image.manifest)]);
    },
  };
}

function largeDataset(layerMiB: number): Dataset {
  return {
    name: `${((LARGE_LAYERS * layerMiB) / 1024).toLocaleString("en-US")} GiB (${LARGE_LAYERS} × ${layerMiB} MiB)`,
    async push(t) {
      const layer = randomBytes(layerMiB * 1024 * 1024);
      const pushed: Array<[string, string]> = [];
      for (let i = 0; i < LARGE_LAYERS; i++) {
        layer.writeUInt32BE(i, 0);
        const digest = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
        const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", n: i }));
        await pushPostPut(t, "bench/gc-large", layer, digest);
        await pushPostPut(t, "bench/gc-large", config, sha256(config));
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
            layers: [{ mediaType: OCI_LAYER, digest, size: layer.length }],
          }),
        );
        await putManifest(t, "bench/gc-large", `l${i}`, manifest);
        pushed.push(["bench/gc-large", sha256(manifest)]);
      }
      return pushed;
    },
  };
}

async function deleteAll(t: Target, manifests: Array<[string, string]>): Promise<void> {
  const result = await pool(manifests, 8, GC_LIMIT_MS, async ([repository, digest]) => {
    expectStatus(await send(t, "DELETE", `/v2/${repository}/manifests/${digest}`), 202, "manifest delete");
  });
  if (result.failed > 0) throw new Error(`${result.failed} deletes failed: ${result.firstError ?? ""}`);
}

/** Airlock: one Manual run through the API, timed from the request to its end. */
async function airlockGc(t: Target): Promise<{ seconds: number; freed: number }> {
  const started = performance.now();
  const reply = expectStatus(
    await send(t, "POST", "/api/v2.0/system/gc/schedule", {
      headers: { "Content-Type": "application/json" },
      body: Buffer.from(
        JSON.stringify({ schedule: { type: "Manual" }, parameters: { delete_untagged: true, workers: 5 } }),
      ),
    }),
    201,
    "GC run",
  );
  const id =
    String(reply.headers.location ?? "")
      .split("/")
      .pop() ?? "";
  const deadline = Date.now() + GC_LIMIT_MS;
  for (let round = 0; Date.now() < deadline && round < GC_LIMIT_MS / 20; round++) {
    const found = JSON.parse((await send(t, "GET", `/api/v2.0/system/gc/${id}`)).body.toString("utf8")) as {
      job_status: string;
      job_parameters: string;
    };
    if (found.job_status === "Success") {
      const seconds = (performance.now() - started) / 1000;
      const attributes = JSON.parse(found.job_parameters) as { freed_space?: number };
      return { seconds, freed: attributes.freed_space ?? 0 };
    }
    if (!["Pending", "Running"].includes(found.job_status)) throw new Error(`GC run ${id} ended ${found.job_status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`GC run ${id} did not end within ${GC_LIMIT_MS} ms`);
}

/** Distribution 3 with filesystem or S3 storage; its configuration file is what garbage-collect reads. */
async function startD3(repoRoot: string, dir: string, storage: string[]): Promise<RunningServer & { config: string }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      ...storage,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "distribution.log");
  const child = launch(distribution3Binary(repoRoot), ["serve", config], logFile, dir, {
    OTEL_TRACES_EXPORTER: "none",
  });
  const target: Target = {
    label: "Distribution 3",
    origin: `http://127.0.0.1:${port}`,
    headers: {},
    agent: newAgent(),
  };
  const stop = stopper(child);
  await waitReady(target, () => child.exitCode !== null, logFile);
  return { target, roots: [child.pid ?? 0], logFiles: [logFile], dataDir: dir, stop, config };
}

/** `distribution garbage-collect --delete-untagged`, timed; it runs with the registry stopped. */
async function d3Gc(repoRoot: string, config: string, dir: string): Promise<number> {
  const logFile = path.join(dir, "garbage-collect.log");
  const started = performance.now();
  const child = launch(distribution3Binary(repoRoot), ["garbage-collect", "--delete-untagged", config], logFile, dir, {
    OTEL_TRACES_EXPORTER: "none",
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`garbage-collect exited with ${code}:\n${logTail(logFile)}`);
  return (performance.now() - started) / 1000;
}

async function measure(
  repoRoot: string,
  workDir: string,
  backend: Backend,
  dataset: Dataset,
  ctx: PhaseContext,
): Promise<Measured> {
  const notes: string[] = [];
  const slug = `gc-${backend === "S3" ? "s3" : "fs"}-${dataset.name.split(" ")[0]?.replace(/\W/g, "")}`;
  const s3: S3Server[] = [];
  const storageFor = async (name: string): Promise<{ airlock: string[]; d3: string[] }> => {
    if (backend === "filesystem") {
      return { airlock: [], d3: ["  filesystem:", `    rootdirectory: ${path.join(workDir, slug, name, "data")}`] };
    }
    const server = await startS3Server(repoRoot, path.join(workDir, slug, `${name}-s3`), `bench-${name}`);
    s3.push(server);
    return {
      airlock: [
        "storage:",
        "  s3:",
        `    bucket: ${server.bucket}`,
        `    endpoint: ${server.endpoint}`,
        `    region: ${server.region}`,
        "    forcePathStyle: true",
        `    accessKeyId: ${server.accessKeyId}`,
        `    secretAccessKey: ${server.secretAccessKey}`,
      ],
      d3: [
        "  s3:",
        `    accesskey: ${server.accessKeyId}`,
        `    secretkey: ${server.secretAccessKey}`,
        `    region: ${server.region}`,
        `    regionendpoint: ${server.endpoint}`,
        "    forcepathstyle: true",
        "    secure: false",
        `    bucket: ${server.bucket}`,
      ],
    };
  };
  let airlockSeconds: number | undefined;
  let d3Seconds: number | undefined;
  try {
    const airlockStorage = await storageFor("airlock");
    const airlock = await startAirlock(repoRoot, path.join(workDir, slug), {
      name: "airlock",
      label: "Airlock",
      configLines: ["gc:", "  timeWindowHours: 0", "  readGraceSeconds: 0", ...airlockStorage.airlock],
    });
    try {
      ctx.progress(`GC ${backend}, ${dataset.name}: pushing into Airlock`);
      await deleteAll(airlock.target, await dataset.push(airlock.target));
      const { seconds, freed } = await airlockGc(airlock.target);
      airlockSeconds = seconds;
      ctx.progress(
        `GC ${backend}, ${dataset.name}: Airlock ${format(seconds)} s, ${format(freed / 2 ** 20)} MiB freed`,
      );
    } finally {
      await airlock.stop();
    }
    const d3Storage = await storageFor("d3");
    const d3 = await startD3(repoRoot, path.join(workDir, slug, "d3"), d3Storage.d3);
    let stopped = false;
    try {
      ctx.progress(`GC ${backend}, ${dataset.name}: pushing into Distribution 3`);
      await deleteAll(d3.target, await dataset.push(d3.target));
      await d3.stop();
      stopped = true;
      d3Seconds = await d3Gc(repoRoot, d3.config, path.join(workDir, slug, "d3"));
      ctx.progress(`GC ${backend}, ${dataset.name}: Distribution 3 ${format(d3Seconds)} s`);
    } finally {
      if (!stopped) await d3.stop();
    }
  } catch (err) {
    notes.push(`GC on ${backend} with ${dataset.name}: ${(err as Error).message.split("\n")[0]}`);
    ctx.progress(`GC ${backend}, ${dataset.name} failed: ${(err as Error).message}`);
  } finally {
    for (const server of s3) await server.stop();
  }
  ctx.phaseDone(`GC ${backend} ${dataset.name}`);
  return {
    backend,
    dataset: dataset.name,
    ...(airlockSeconds !== undefined && { airlock: airlockSeconds }),
    ...(d3Seconds !== undefined && { d3: d3Seconds }),
    notes,
  };
}

export async function runGcPhase(
  repoRoot: string,
  workDir: string,
  ctx: PhaseContext,
  sizes: { artifacts: number; layerMiB: number },
): Promise<GcPhaseResult> {
  const measured: Measured[] = [];
  for (const backend of ["filesystem", "S3"] as const) {
    for (const dataset of [smallDataset(sizes.artifacts), largeDataset(sizes.layerMiB)]) {
      measured.push(await measure(repoRoot, workDir, backend, dataset, ctx));
    }
  }
  return {
    rows: measured.map((m) => ({
      title: `Garbage collection after deleting ${m.dataset}, ${m.backend} (Airlock online; Distribution stopped)`,
      unit: "s",
      better: "lower" as const,
      values: { ...(m.airlock !== undefined && { airlock: m.airlock }), ...(m.d3 !== undefined && { d3: m.d3 }) },
    })),
    details: [
      "Garbage collection: Airlock's run is timed from the API request to the run's end, while the server keeps " +
        "serving (online, no grace period for the measurement); Distribution 3's is `garbage-collect " +
        "--delete-untagged` with the registry stopped, as it must be. Both delete every blob of the deleted images.",
      ...measured.flatMap((m) => m.notes),
    ],
  };
}
