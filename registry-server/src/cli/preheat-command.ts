// `airlock-registry preheat`: starts a preheat job on a running registry and follows it, one
// line per image as it finishes, then a summary. Exits 1 when any image failed.

import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { apiError, CommandError, ManagementClient, managementTarget } from "./management-client.ts";
import { CONNECTION_OPTIONS, helpAsked, parseCommandArgs } from "./command-args.ts";

export const PREHEAT_USAGE = `usage: airlock-registry preheat --url URL --project NAME [flags] IMAGE...

Pulls images into a proxy-cache project ahead of time. IMAGE is the upstream's name:
library/nginx:1.25, prometheus/prometheus@sha256:..., tag latest when none.

  --url URL              the registry (or AIRLOCK_URL)
  --project NAME         the proxy-cache project
  --file FILE            more images, one per line (# comments)
  --platform OS/ARCH     platforms of multi-platform images to fetch (repeatable; default all)
  --username NAME        (or AIRLOCK_USERNAME; default admin)
  --password-file FILE   (or AIRLOCK_PASSWORD)
  --ca-file FILE         CA certificate to trust for the registry
  --timeout SECONDS      give up following the job after this long (default 3600)
`;

interface JobImage {
  image: string;
  status: string;
  digest?: string;
  bytes_fetched: number;
  error?: string;
}

interface Job {
  id: string;
  status: string;
  summary: { total: number; fetched: number; present: number; failed: number; pending: number; bytes_fetched: number };
  images: JobImage[];
}

export async function preheatCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (helpAsked(args, PREHEAT_USAGE, out)) return 0;
  const parsed = parseCommandArgs(
    args,
    {
      ...CONNECTION_OPTIONS,
      project: { type: "string" },
      file: { type: "string" },
      platform: { type: "string", multiple: true },
      timeout: { type: "string" },
    },
    PREHEAT_USAGE,
  );
  const flags = parsed.values;
  const project = flags.project;
  if (!project) throw new CommandError(`--project is required\n\n${PREHEAT_USAGE}`);
  const images = [...parsed.positionals];
  if (flags.file !== undefined) images.push(...readImageList(flags.file));
  if (images.length === 0) throw new CommandError(`no images given\n\n${PREHEAT_USAGE}`);
  const timeoutMs = Number(flags.timeout ?? "3600") * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CommandError("--timeout must be a number of seconds");

  const client = new ManagementClient(managementTarget(flags));
  try {
    const started = await client.call("POST", `/projects/${encodeURIComponent(project)}/preheat`, {
      images,
      platforms: flags.platform ?? [],
    });
    if (started.status !== 201) throw apiError(started, "starting the preheat job");
    const location = String(started.headers["location"] ?? "");
    const jobPath = location.replace(/^\/api\/v2\.0/, "");
    out.write(`preheating ${images.length} image(s) into ${project} (job ${jobPath.split("/").pop()})\n`);

    const reported = new Set<string>();
    const deadline = Date.now() + timeoutMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
      const reply = await client.call("GET", jobPath);
      if (reply.status !== 200) throw apiError(reply, "reading the preheat job");
      const job = reply.body as Job;
      for (const image of job.images) {
        if (reported.has(image.image) || image.status === "pending" || image.status === "running") continue;
        reported.add(image.image);
        out.write(`${progressLine(image)}  [${reported.size}/${job.images.length}]\n`);
      }
      if (job.status !== "running") {
        const s = job.summary;
        out.write(
          `${job.status}: ${s.fetched} fetched, ${s.present} already cached, ${s.failed} failed; ` +
            `${formatBytes(s.bytes_fetched)} from the upstream\n`,
        );
        return s.failed === 0 ? 0 : 1;
      }
      if (Date.now() > deadline) throw new CommandError(`the job is still running after ${timeoutMs / 1000}s`);
      await sleep(delay);
    }
  } finally {
    await client.close();
  }
}

function readImageList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read --file ${file}: ${(err as Error).message}`);
  }
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

function progressLine(image: JobImage): string {
  if (image.status === "failed") return `  failed   ${image.image}: ${image.error ?? "unknown error"}`;
  const what =
    image.status === "fetched"
      ? `fetched  ${image.image} (${formatBytes(image.bytes_fetched)})`
      : `cached   ${image.image}`;
  return `  ${what}${image.digest ? ` ${image.digest}` : ""}`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
