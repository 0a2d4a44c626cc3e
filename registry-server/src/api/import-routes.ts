// Importing an image archive into a project (our own API; Harbor has none): the body is the
// archive itself, an air-gap bundle, any OCI layout tar or a `docker save` archive (gzip'd or
// not), streamed. The answer is a summary of what was stored.
//   POST /api/v2.0/projects/{project_name}/imports?repository_prefix=…&repository=…
//        Content-Type: application/x-tar
// Every blob's digest is verified as it is stored; a refused archive leaves no manifest. The body
// as sent and the archive once decompressed are bounded by limits.maxImportBytes (a declared
// Content-Length beyond it is refused before a byte is read), metadata entries by the manifest
// limit, writes by the project's quota (transfer/import-limits.ts). Refusals for a size are 413,
// PAYLOAD_TOO_LARGE: the request is larger than this server takes (as /v2 answers 413 for a
// manifest over the limit), not malformed; the quota's is 403, as for a push over it; a
// malformed archive's is 400.

import type { IncomingMessage } from "node:http";
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type { AuditLog } from "./audit-log.ts";
import { isValidRepositoryName } from "../content/names.ts";
import { HarborError, RegistryError } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import type { Router } from "../http/router.ts";
import { ROLES, type ProjectMetadataArea } from "../metadata/identity-store.ts";
import { PlanError, type ImportNaming } from "../transfer/archive-types.ts";
import { ImportOverQuotaError, ImportTooLargeError, OversizedEntryError } from "../transfer/import-limits.ts";
import { CorruptArchiveError } from "../transfer/staged-archive.ts";
import {
  DEFAULT_IMPORT_LIMITS,
  importArchive,
  type ImportDeps,
  type ImportSummary,
} from "../transfer/stream-importer.ts";
import { TarFormatError } from "../transfer/tar-format.ts";
import { pathSegment } from "./harbor-http.ts";
import type { ApiAccess } from "./api-access.ts";

const IMPORTS = /^\/api\/v2\.0\/projects\/(?<project>[^/]+)\/imports\/?$/;
const TAR_TYPES = new Set([
  "application/x-tar",
  "application/tar",
  "application/octet-stream",
  "application/gzip",
  "application/x-gzip",
]);

export type Importer = (source: AsyncIterable<Buffer>, naming: ImportNaming) => Promise<ImportSummary>;

/**
 * What the client still sends after an answer is read and dropped up to this much (or this
 * long) so that it reads the answer rather than a reset; beyond, the connection is closed.
 */
const DISCARD_BYTES = 16 * 1024 * 1024;
const DISCARD_MS = 10_000;

/**
 * The request body through one iterator, so that what an import leaves unread (after a refusal,
 * or the zero padding after the end of a tar) is read through it too, and the client gets the
 * answer cleanly. A gzip'd body (`docker save | gzip`) is decompressed on the fly.
 */
class RequestBody {
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly maxBytes: number;
  /** Bytes of the body as sent, so far. */
  private received = 0;

  constructor(req: IncomingMessage, maxBytes: number) {
    this.iterator = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.maxBytes = maxBytes;
  }

  private count(chunk: Buffer): Buffer {
    this.received += chunk.length;
    if (this.received > this.maxBytes) throw new ImportTooLargeError(this.maxBytes, "the request body");
    return chunk;
  }

  private async *raw(first?: Buffer): AsyncGenerator<Buffer> {
    if (first) yield first;
    for (let next = await this.iterator.next(); !next.done; next = await this.iterator.next()) {
      yield this.count(next.value);
    }
  }

  async *archive(): AsyncGenerator<Buffer> {
    const first = await this.iterator.next();
    if (first.done) return;
    this.count(first.value);
    if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) {
      yield* this.raw(first.value);
      return;
    }
    const gunzip = createGunzip();
    pipeline(Readable.from(this.raw(first.value)), gunzip, () => {});
    for await (const chunk of gunzip) yield chunk as Buffer;
  }

  /**
   * Reads and drops the rest of the body, up to DISCARD_BYTES and DISCARD_MS: true when it
   * ended, false when the client had more to send, stalled or went away.
   */
  async discard(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), DISCARD_MS);
    });
    try {
      for (let dropped = 0; dropped <= DISCARD_BYTES;) {
        const next = await Promise.race([this.iterator.next(), deadline]);
        if (next === "late") return false;
        if (next.done) return true;
        dropped += next.value.length;
      }
      return false;
    } catch {
      // The client went away.
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function nameParam(url: URL, key: string): string | undefined {
  const value = url.searchParams.get(key);
  if (value === null || value === "") return undefined;
  if (!isValidRepositoryName(value))
    throw new HarborError("BAD_REQUEST", `${key} is not a valid repository path: ${JSON.stringify(value)}`);
  return value;
}

export function summaryJson(project: string, summary: ImportSummary): Record<string, unknown> {
  return {
    project_name: project,
    format: summary.format,
    images: summary.images.map((image) => ({
      source: image.source,
      repository: image.repository,
      tags: image.tags,
      digest: image.digest,
      media_type: image.mediaType,
    })),
    manifests: summary.manifests,
    blobs_stored: summary.blobsStored,
    blobs_skipped: summary.blobsSkipped,
    bytes_stored: summary.bytesStored,
    bytes_read: summary.bytesRead,
  };
}

export function addImportRoutes(
  router: Router,
  deps: ImportDeps & { access: ApiAccess; audit?: AuditLog; importer?: Importer },
): void {
  const { access, audit } = deps;
  const projects: ProjectMetadataArea = deps.metadata.projects;
  const importer: Importer = deps.importer ?? ((source, naming) => importArchive(deps, source, naming));
  const maxImportBytes = (deps.limits ?? DEFAULT_IMPORT_LIMITS).maxImportBytes;

  router.add("import_archive", "POST", IMPORTS, async (ctx) => {
    const { req, res, url, log } = ctx;
    const body = new RequestBody(req, maxImportBytes);
    try {
      const name = pathSegment(ctx.params["project"]);
      const project = await projects.getByName(name);
      if (!project) throw new HarborError("NOT_FOUND", `project ${name} not found`);
      const caller = await access.requireRole(req, project, [ROLES.projectAdmin, ROLES.maintainer]);
      if (project.registryId !== undefined) {
        throw new HarborError(
          "BAD_REQUEST",
          `project ${name} is a proxy-cache project: images cannot be imported into it`,
        );
      }
      const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (!TAR_TYPES.has(type)) {
        throw new HarborError(
          "UNSUPPORTED_MEDIA_TYPE",
          "send the archive as the body with Content-Type: application/x-tar",
        );
      }
      // A body that says it is too large is refused before a byte of it is read.
      const declared = Number(req.headers["content-length"]);
      if (Number.isSafeInteger(declared) && declared > maxImportBytes) {
        throw new ImportTooLargeError(maxImportBytes, "the request body");
      }
      const prefix = nameParam(url, "repository_prefix");
      const repository = nameParam(url, "repository");
      const naming: ImportNaming = {
        project: project.name,
        ...(prefix && { prefix }),
        ...(repository && { repository }),
      };
      log.info({ project: project.name }, "import started");
      const summary = await importer(body.archive(), naming);
      for (const image of summary.images) {
        audit?.record({
          username: caller.username,
          resource: `${image.repository}${image.tags[0] !== undefined ? `:${image.tags[0]}` : `@${image.digest}`}`,
          resourceType: "artifact",
          operation: "create",
          success: true,
          project: project.name,
        });
      }
      log.info(
        {
          project: project.name,
          images: summary.images.length,
          blobsStored: summary.blobsStored,
          blobsSkipped: summary.blobsSkipped,
          bytesStored: summary.bytesStored,
        },
        "import finished",
      );
      // What follows the archive's end (tar padding) is read before answering, within bounds.
      if (!(await body.discard())) res.setHeader("Connection", "close");
      sendJson(res, 200, summaryJson(project.name, summary));
    } catch (err) {
      // The refusal goes out at once; what the client still sends is read and dropped after it,
      // within bounds, so that the client reads the answer; then the connection closes.
      res.once("finish", () => {
        void body.discard().then((ended) => {
          if (!ended) req.socket.destroy();
        });
      });
      throw harborError(err);
    }
  });
}

/** What went wrong, in Harbor's terms: sizes are 413, the quota 403, the archive's faults 400. */
function harborError(err: unknown): unknown {
  if (err instanceof OversizedEntryError || err instanceof ImportTooLargeError) {
    return new HarborError("PAYLOAD_TOO_LARGE", `import refused: ${err.message}`);
  }
  if (err instanceof ImportOverQuotaError) return new HarborError("FORBIDDEN", `import refused: ${err.message}`);
  if (err instanceof PlanError || err instanceof CorruptArchiveError || err instanceof TarFormatError) {
    return new HarborError("BAD_REQUEST", `import refused: ${err.message}`);
  }
  if (err instanceof RegistryError) {
    return new HarborError(err.code === "DENIED" ? "FORBIDDEN" : "BAD_REQUEST", `import refused: ${err.message}`);
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === "Z_DATA_ERROR" || code === "Z_BUF_ERROR") {
    return new HarborError("BAD_REQUEST", "import refused: the gzip stream is corrupt");
  }
  return err;
}
