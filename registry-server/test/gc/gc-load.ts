// The traffic of the garbage collection safety tests: clients that push new images (a fresh config
// and layer each, and one of a few layers every client shares, checked with HEAD first as real
// clients do), pull back images they pushed before, and delete some (by digest, or by pushing
// them untagged for `delete_untagged` to find), against several servers at once; and a loop that
// keeps asking a server for garbage collection runs and waits for each. What must survive is
// recorded: every image acknowledged and not deleted, with its blobs.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { descriptorOf, OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";

export interface LiveImage {
  readonly repository: string;
  readonly reference: string;
  readonly digest: string;
  readonly blobs: readonly string[];
}

export interface GcLoadReport {
  pushed: number;
  pulled: number;
  deleted: number;
  untagged: number;
  /** Manifest pushes refused because a blob went meanwhile (the protocol's clean failure). */
  blobUnknown: number;
  /** What must never happen: a live image that did not pull back intact, an unexpected answer. */
  readonly problems: string[];
}

const SHARED_LAYERS = 4;
const REQUEST_TIMEOUT_MS = 20_000;

export class GcLoad {
  readonly live = new Map<string, LiveImage>();
  readonly report: GcLoadReport = { pushed: 0, pulled: 0, deleted: 0, untagged: 0, blobUnknown: 0, problems: [] };
  readonly #urls: readonly string[];
  readonly #shared = Array.from({ length: SHARED_LAYERS }, () => randomBytes(2048));
  #running = false;
  #loops: Promise<void>[] = [];

  /** Clients are spread over `urls`, one server each, round-robin. */
  constructor(urls: readonly string[]) {
    this.#urls = urls;
  }

  start(clients: number, maxImagesPerClient: number): void {
    this.#running = true;
    this.#loops = Array.from({ length: clients }, (_, index) => this.#loop(index, maxImagesPerClient));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Waits until every client has pushed its images. */
  async finished(): Promise<void> {
    await Promise.all(this.#loops);
    this.#running = false;
  }

  async #loop(index: number, maxImages: number): Promise<void> {
    const client = new OciClient(this.#urls[index % this.#urls.length] ?? "");
    const repository = `gc/client-${index}`;
    const mine: LiveImage[] = [];
    for (let n = 0; this.#running && n < maxImages; n++) {
      try {
        const untagged = n % 4 === 3;
        const image = await this.#push(client, repository, n, untagged);
        if (!image) continue;
        this.report.pushed += 1;
        if (untagged) {
          this.report.untagged += 1;
        } else {
          mine.push(image);
          this.live.set(`${repository}:${image.reference}`, image);
        }
        const earlier = mine[Math.floor(Math.random() * mine.length)];
        if (earlier) await this.#pullAndCheck(client, earlier);
        if (n % 3 === 2 && mine.length > 2) {
          const [gone] = mine.splice(Math.floor(Math.random() * (mine.length - 1)), 1);
          if (gone) await this.#delete(client, gone);
        }
      } catch (error) {
        this.report.problems.push(`${repository} #${n}: ${(error as Error).message}`);
        await sleep(100);
      }
    }
  }

  /** Pushes one image; undefined when its manifest was refused for a blob gone meanwhile, twice. */
  async #push(client: OciClient, repository: string, n: number, untagged: boolean): Promise<LiveImage | undefined> {
    const config = Buffer.from(
      JSON.stringify({ os: "linux", architecture: "amd64", n, nonce: randomBytes(8).toString("hex") }),
    );
    const layer = randomBytes(1024 + Math.floor(Math.random() * 3072));
    const shared = this.#shared[n % SHARED_LAYERS] ?? Buffer.alloc(0);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptorOf("application/vnd.oci.image.config.v1+json", config),
        layers: [
          descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", shared),
          descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer),
        ],
      }),
    );
    const digest = sha256(manifest);
    const reference = untagged ? digest : `t${n}`;
    for (let attempt = 1; attempt <= 2; attempt++) {
      for (const blob of [config, shared, layer]) await this.#ensureBlob(client, repository, blob);
      const answer = await this.#call(client, "PUT", `/v2/${repository}/manifests/${reference}`, {
        headers: { "Content-Type": OCI_MANIFEST },
        body: manifest,
      });
      if (answer.status === 201) {
        return { repository, reference, digest, blobs: [sha256(config), sha256(shared), sha256(layer)] };
      }
      const code = errorCode(answer.text);
      if (answer.status === 400 && code === "MANIFEST_BLOB_UNKNOWN") {
        this.report.blobUnknown += 1;
        continue;
      }
      throw new Error(`manifest push answered ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    return undefined;
  }

  /** HEAD, and an upload only when the repository does not have the blob. */
  async #ensureBlob(client: OciClient, repository: string, blob: Buffer): Promise<void> {
    const digest = sha256(blob);
    const head = await this.#call(client, "HEAD", `/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) return;
    const put = await this.#call(client, "POST", `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      headers: { "Content-Type": "application/octet-stream" },
      body: blob,
    });
    if (put.status !== 201) throw new Error(`blob upload answered ${put.status} ${put.text.slice(0, 200)}`);
  }

  async #pullAndCheck(client: OciClient, image: LiveImage): Promise<void> {
    const problems = await pullImage(client, image);
    this.report.problems.push(...problems);
    this.report.pulled += 1;
  }

  async #delete(client: OciClient, image: LiveImage): Promise<void> {
    // Out of the live set first: a pull of it from now on may rightly fail.
    this.live.delete(`${image.repository}:${image.reference}`);
    const answer = await this.#call(client, "DELETE", `/v2/${image.repository}/manifests/${image.digest}`);
    if (answer.status !== 202) throw new Error(`manifest delete answered ${answer.status}`);
    this.report.deleted += 1;
  }

  async #call(
    client: OciClient,
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<{ status: number; text: string }> {
    const response = await fetch(`${client.base}${path}`, {
      method,
      headers: { Authorization: client.authorization ?? "", ...init.headers },
      ...(init.body !== undefined && { body: init.body }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: response.status, text: method === "HEAD" ? "" : await response.text() };
  }
}

/** Pulls an image's manifest and blobs, checking every digest; returns what did not check out. */
export async function pullImage(client: OciClient, image: LiveImage): Promise<string[]> {
  const name = `${client.base} ${image.repository}:${image.reference}`;
  const manifest = await client.request("GET", `/v2/${image.repository}/manifests/${image.reference}`, {
    headers: { Accept: OCI_MANIFEST },
  });
  if (manifest.status !== 200) return [`${name}: manifest answered ${manifest.status}`];
  if (sha256(Buffer.from(await manifest.arrayBuffer())) !== image.digest) return [`${name}: another manifest`];
  const problems: string[] = [];
  for (const digest of image.blobs) {
    const blob = await client.request("GET", `/v2/${image.repository}/blobs/${digest}`);
    if (blob.status !== 200) problems.push(`${name}: blob ${digest} answered ${blob.status}`);
    else if (sha256(Buffer.from(await blob.arrayBuffer())) !== digest) problems.push(`${name}: blob ${digest} differs`);
  }
  return problems;
}

export interface GcRun {
  readonly id: number;
  readonly status: string;
  readonly attributes: Record<string, unknown>;
}

/** Asks `url` for one garbage collection run now and waits (bounded) for its end. */
export async function runGc(url: string, parameters: Record<string, unknown>, timeoutMs = 60_000): Promise<GcRun> {
  const client = new OciClient(url);
  const started = await client.request("POST", "/api/v2.0/system/gc/schedule", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ schedule: { type: "Manual" }, parameters }),
  });
  if (started.status !== 201) throw new Error(`GC run refused: ${started.status} ${await started.text()}`);
  const id = Number((started.headers.get("location") ?? "").split("/").pop());
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < timeoutMs / 100 + 1 && Date.now() < deadline; round++) {
    const found = (await (await client.request("GET", `/api/v2.0/system/gc/${id}`)).json()) as {
      job_status: string;
      job_parameters: string;
    };
    if (!["Pending", "Running"].includes(found.job_status)) {
      return { id, status: found.job_status, attributes: JSON.parse(found.job_parameters) as Record<string, unknown> };
    }
    await sleep(100);
  }
  throw new Error(`GC run ${id} did not end within ${timeoutMs} ms`);
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}
