// Load for the fault tests: clients pushing small images in a loop (a config and a layer by
// monolithic POST, then the manifest under a tag of its own), every request's outcome recorded;
// then a check that every image the registry acknowledged, and every tag it shows, pulls back
// intact. A failed step abandons its image and the client moves on to a new one after a pause.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { descriptorOf, OCI_MANIFEST, OciClient, sha256 } from "./distribution/oci-client.ts";

/** One request of the load: its answer, or the error fetch raised. */
export interface RequestOutcome {
  /** When it was sent and answered (Date.now()). */
  readonly sentAt: number;
  readonly doneAt: number;
  readonly step: "config" | "layer" | "manifest";
  /** The HTTP status; undefined when no answer came (a reset, a refused connection, a timeout). */
  readonly status?: number;
  /** The first error code of the body, for failures. */
  readonly code?: string;
  readonly retryAfter?: string;
  /** fetch's error, when no answer came. */
  readonly error?: string;
}

export interface PushedImage {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  /** When its first request was sent, and when its manifest was acknowledged. */
  readonly startedAt: number;
  readonly acknowledgedAt: number;
}

export interface LoadOptions {
  readonly clients: number;
  /** Images per client at most: the loop ends there even if nobody stops it. */
  readonly maxImagesPerClient: number;
  /** Pause after a failed step before the next image. */
  readonly pauseAfterFailureMs: number;
  /** Each request's time limit. */
  readonly requestTimeoutMs: number;
}

const DEFAULTS: LoadOptions = {
  clients: 8,
  maxImagesPerClient: 1_000,
  pauseAfterFailureMs: 100,
  requestTimeoutMs: 20_000,
};

class StepFailed extends Error {}

export class PushLoad {
  readonly outcomes: RequestOutcome[] = [];
  readonly acknowledged: PushedImage[] = [];
  readonly #url: string;
  readonly #options: LoadOptions;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(url: string, options: Partial<LoadOptions> = {}) {
    this.#url = url;
    this.#options = { ...DEFAULTS, ...options };
  }

  /** The repository client `index` pushes to. */
  static repository(index: number): string {
    return `load/client-${index}`;
  }

  start(): void {
    this.#running = true;
    this.#loops = Array.from({ length: this.#options.clients }, (_, index) => this.#loop(index));
  }

  /** Ends every loop after its current image; resolves when they have ended. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Images acknowledged whose first request was sent at or after `time`. */
  acknowledgedStartedSince(time: number): PushedImage[] {
    return this.acknowledged.filter((image) => image.startedAt >= time);
  }

  async #loop(index: number): Promise<void> {
    const client = new OciClient(this.#url);
    const repository = PushLoad.repository(index);
    for (let n = 0; this.#running && n < this.#options.maxImagesPerClient; n++) {
      try {
        await this.#pushOne(client, repository, `t${n}`);
      } catch (error) {
        if (!(error instanceof StepFailed)) throw error;
        await sleep(this.#options.pauseAfterFailureMs);
      }
    }
  }

  async #pushOne(client: OciClient, repository: string, tag: string): Promise<void> {
    const startedAt = Date.now();
    // Unique bytes per image: every push stores new blobs, as a build would.
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", tag, nonce: randomBytes(8).toString("hex") }),
    );
    const layer = randomBytes(512 + Math.floor(Math.random() * 3_584));
    await this.#send(
      client,
      "config",
      "POST",
      `/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`,
      config,
      201,
    );
    await this.#send(client, "layer", "POST", `/v2/${repository}/blobs/uploads/?digest=${sha256(layer)}`, layer, 201);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
        layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
      }),
    );
    await this.#send(client, "manifest", "PUT", `/v2/${repository}/manifests/${tag}`, manifest, 201, OCI_MANIFEST);
    this.acknowledged.push({ repository, tag, digest: sha256(manifest), startedAt, acknowledgedAt: Date.now() });
  }

  async #send(
    client: OciClient,
    step: RequestOutcome["step"],
    method: string,
    path: string,
    body: Buffer,
    expected: number,
    contentType = "application/octet-stream",
  ): Promise<void> {
    const sentAt = Date.now();
    let response: Response;
    try {
      response = await fetch(`${client.base}${path}`, {
        method,
        headers: { Authorization: client.authorization ?? "", "Content-Type": contentType },
        body,
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
      });
    } catch (error) {
      const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
      this.outcomes.push({
        sentAt,
        doneAt: Date.now(),
        step,
        error: `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message ?? ""})` : ""}`,
      });
      throw new StepFailed();
    }
    const text = await response.text();
    const outcome: RequestOutcome = {
      sentAt,
      doneAt: Date.now(),
      step,
      status: response.status,
      ...(response.headers.get("retry-after") !== null && { retryAfter: response.headers.get("retry-after") ?? "" }),
      ...(response.status !== expected && { code: errorCode(text) }),
    };
    this.outcomes.push(outcome);
    if (response.status !== expected) throw new StepFailed();
  }
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** How the outcomes split: successes, 503s (with and without Retry-After), other statuses, no answer. */
export function tally(outcomes: readonly RequestOutcome[]): {
  attempted: number;
  succeeded: number;
  unavailable: number;
  unavailableWithoutRetryAfter: number;
  otherStatuses: Record<string, number>;
  /** Requests that got no answer, counted by fetch's error. */
  noAnswer: Record<string, number>;
} {
  const otherStatuses: Record<string, number> = {};
  const noAnswer: Record<string, number> = {};
  let succeeded = 0;
  let unavailable = 0;
  let unavailableWithoutRetryAfter = 0;
  for (const outcome of outcomes) {
    if (outcome.status === undefined) {
      const key = outcome.error ?? "?";
      noAnswer[key] = (noAnswer[key] ?? 0) + 1;
    } else if (outcome.status >= 200 && outcome.status < 300) succeeded++;
    else if (outcome.status === 503) {
      unavailable++;
      if (outcome.retryAfter === undefined) unavailableWithoutRetryAfter++;
    } else {
      const key = `${outcome.status} ${outcome.code ?? ""}`.trim();
      otherStatuses[key] = (otherStatuses[key] ?? 0) + 1;
    }
  }
  return { attempted: outcomes.length, succeeded, unavailable, unavailableWithoutRetryAfter, otherStatuses, noAnswer };
}

/**
 * Pulls every tag of the load's repositories (which must include every acknowledged image)
 * and every blob their manifests name, checking digests. Returns what did not check out.
 */
export async function verifyPushed(
  url: string,
  load: PushLoad,
  clients: number,
): Promise<{ images: number; blobs: number; problems: string[] }> {
  const client = new OciClient(url);
  const problems: string[] = [];
  const work: Array<{ repository: string; tag: string }> = [];
  for (let index = 0; index < clients; index++) {
    const repository = PushLoad.repository(index);
    const listed = await client.request("GET", `/v2/${repository}/tags/list`);
    if (listed.status === 404) continue;
    if (listed.status !== 200) {
      problems.push(`${repository}: tags list answered ${listed.status}`);
      continue;
    }
    const tags = ((await listed.json()) as { tags?: string[] | null }).tags ?? [];
    for (const tag of tags) work.push({ repository, tag });
  }
  const shown = new Set(work.map(({ repository, tag }) => `${repository}:${tag}`));
  const expectedDigest = new Map<string, string>();
  for (const image of load.acknowledged) {
    const name = `${image.repository}:${image.tag}`;
    expectedDigest.set(name, image.digest);
    if (!shown.has(name)) problems.push(`${name}: acknowledged but not listed`);
  }
  let images = 0;
  let blobs = 0;
  // A few pulls at a time; bounded by the tags listed.
  const queue = [...work];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const name = `${item.repository}:${item.tag}`;
      const manifest = await client.request("GET", `/v2/${item.repository}/manifests/${item.tag}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      if (manifest.status !== 200) {
        problems.push(`${name}: manifest answered ${manifest.status}`);
        continue;
      }
      const bytes = Buffer.from(await manifest.arrayBuffer());
      const digest = sha256(bytes);
      const expected = expectedDigest.get(name);
      if (manifest.headers.get("docker-content-digest") !== digest) problems.push(`${name}: digest header differs`);
      if (expected !== undefined && expected !== digest) problems.push(`${name}: not the manifest acknowledged`);
      const parsed = JSON.parse(bytes.toString("utf8")) as {
        config: { digest: string };
        layers: Array<{ digest: string }>;
      };
      for (const blob of [parsed.config, ...parsed.layers]) {
        const response = await client.request("GET", `/v2/${item.repository}/blobs/${blob.digest}`);
        if (response.status !== 200) {
          problems.push(`${name}: blob ${blob.digest} answered ${response.status}`);
          continue;
        }
        if (sha256(Buffer.from(await response.arrayBuffer())) !== blob.digest) {
          problems.push(`${name}: blob ${blob.digest} has other bytes`);
        }
        blobs++;
      }
      images++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { images, blobs, problems };
}

/** Polls `check` every `intervalMs` until it holds; false after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline and by the count of rounds it allows.
  for (let round = 0; round <= timeoutMs / intervalMs; round++) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
  return check();
}
