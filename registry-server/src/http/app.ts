// The request pipeline shared by every route: request ids, access logs, routing, and turning
// thrown errors into the right protocol's error JSON (OCI under /v2, Harbor under /api): a
// backend that cannot be reached (DependencyUnavailableError) becomes a 503 with Retry-After, a
// backend with no room left (InsufficientStorageError) a 507, anything else unknown a 500. An
// error answered before the request's body was all read (a disk that filled up in the middle of
// a layer) reads the rest away while the client sends it: closing the connection on unread bytes
// would reset it, and a client busy sending may lose the answer with it.

import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { unavailableDependency, type DependencyUnavailableError } from "../dependency-unavailable.ts";
import { ImmutableTagError } from "../immutability/immutable-tag-guard.ts";
import { insufficientStorage, type InsufficientStorageError } from "../insufficient-storage.ts";
import type { Logger } from "../logger.ts";
import type { ClientAddressOf } from "./client-address.ts";
import { HarborError, RegistryError, writeErrorBody } from "./errors.ts";
import type { HttpMetrics } from "./metrics.ts";
import type { Router } from "./router.ts";

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export const DISTRIBUTION_API_VERSION_HEADER = "Docker-Distribution-API-Version";

/**
 * The status logged and counted for a request whose client closed the connection before any
 * response was sent (nginx's "client closed request"). No such status goes on the wire: the
 * status the response would have had (200 by default) would be a lie in the logs and metrics.
 */
export const CLIENT_CLOSED_STATUS = 499;

function isRegistryPath(pathname: string): boolean {
  return pathname === "/v2" || pathname.startsWith("/v2/");
}

function notFound(pathname: string): RegistryError | HarborError {
  return isRegistryPath(pathname)
    ? new RegistryError("UNSUPPORTED", `unknown endpoint ${pathname}`, { status: 404 })
    : new HarborError("NOT_FOUND", `unknown endpoint ${pathname}`);
}

function methodNotAllowed(pathname: string, method: string): RegistryError | HarborError {
  const message = `${method} is not allowed on ${pathname}`;
  return isRegistryPath(pathname)
    ? new RegistryError("UNSUPPORTED", message)
    : new HarborError("METHOD_NOT_ALLOWED", message);
}

function internalError(pathname: string): RegistryError | HarborError {
  // OCI has no code for server faults; UNSUPPORTED with status 500 is what clients handle best.
  return isRegistryPath(pathname)
    ? new RegistryError("UNSUPPORTED", "internal server error", { status: 500 })
    : new HarborError("INTERNAL_SERVER_ERROR", "internal server error");
}

/**
 * The seconds a client is asked to wait when a backend is down: a database restart or failover
 * takes a few, and clients that honour it then find the registry back rather than failing again.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const DEPENDENCY_NAMES = { database: "the metadata database", storage: "the blob storage" } as const;

/** The metadata database or the blob storage cannot be reached: 503 and Retry-After, never a 500. */
function dependencyUnavailable(pathname: string, error: DependencyUnavailableError): RegistryError | HarborError {
  const message = `${DEPENDENCY_NAMES[error.dependency]} is unavailable: retry later`;
  const headers = { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_SECONDS) };
  return isRegistryPath(pathname)
    ? new RegistryError("UNAVAILABLE", message, { headers })
    : new HarborError("SERVICE_UNAVAILABLE", message, { headers });
}

const NO_ROOM_NAMES = { database: "the metadata database's disk", storage: "the blob storage" } as const;

/** The disk under the blobs or the metadata is full: 507, until someone frees space. */
function noRoom(pathname: string, error: InsufficientStorageError): RegistryError | HarborError {
  const message = `${NO_ROOM_NAMES[error.dependency]} has no space left: nothing was stored; push again once space is freed`;
  return isRegistryPath(pathname)
    ? new RegistryError("INSUFFICIENT_STORAGE", message)
    : new HarborError("INSUFFICIENT_STORAGE", message);
}

/**
 * A write refused by a tag immutability rule: Harbor's 412 and message. On /v2 the code must be
 * one of the specification's; UNSUPPORTED ("the operation is unsupported") says it without
 * reading as a missing permission, as for the other 412 of a delete Harbor refuses.
 */
function immutable(pathname: string, error: ImmutableTagError): RegistryError | HarborError {
  return isRegistryPath(pathname)
    ? new RegistryError("UNSUPPORTED", error.message, {
        status: 412,
        detail: { repository: error.repository, tag: error.tag },
      })
    : new HarborError("PRECONDITION", error.message);
}

/**
 * How long the unread rest of a refused request's body is read and dropped before the connection
 * is cut: enough for a client to finish sending a layer over a fair link, bounded so that a
 * client that never stops cannot hold the connection.
 */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Reads and drops what is left of a request's body, for DRAIN_TIMEOUT_MS at most. */
function drainBody(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.resume();
  const timer = setTimeout(() => req.destroy(), DRAIN_TIMEOUT_MS);
  timer.unref();
  req.once("close", () => clearTimeout(timer));
  req.once("end", () => clearTimeout(timer));
}

/**
 * Rewrites a request's path before routing (the transparent mirror), or leaves it (undefined).
 * It sees the raw path, the parsed URL and the Host header.
 */
export type PathRewrite = (
  method: string,
  path: string,
  url: URL,
  host: string | undefined,
) => Promise<string | undefined>;

export function createRequestListener(
  router: Router,
  log: Logger,
  metrics?: HttpMetrics,
  rewrite?: PathRewrite,
  clientAddress?: ClientAddressOf,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const incomingId = req.headers["x-request-id"];
    const requestId = typeof incomingId === "string" && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    // Route on the path as sent: URL parsing would resolve "a/../b" into "b" and hide a
    // traversal attempt that must be refused as an invalid name.
    const target = req.url ?? "/";
    const url = new URL(target, "http://registry.invalid");
    const rawPath = target.startsWith("/") ? (target.split("?")[0] ?? "/") : url.pathname;
    const requestLog = log.child({ requestId });
    res.setHeader("X-Request-Id", requestId);
    if (isRegistryPath(rawPath)) res.setHeader(DISTRIBUTION_API_VERSION_HEADER, "registry/2.0");

    const method = (req.method ?? "GET").toUpperCase();
    let route = "unmatched";
    let routedPath = rawPath;
    const socket = req.socket;
    const client = clientAddress?.(req) ?? socket.remoteAddress;
    const bytesReadBefore = socket.bytesRead;
    const bytesWrittenBefore = socket.bytesWritten;
    res.on("close", () => {
      // Socket counters include headers and framing: close enough, and free of per-chunk work.
      const bytesIn = socket.bytesRead - bytesReadBefore;
      const bytesOut = socket.bytesWritten - bytesWrittenBefore;
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Closed with nothing sent: the connection went away before any answer, which is the
      // client's doing (an interrupted push, a killed client); the server itself only cuts
      // responses whose status line is out, but for connections still open past a shutdown.
      const clientClosed = !res.headersSent && !res.writableFinished;
      const status = clientClosed ? CLIENT_CLOSED_STATUS : res.statusCode;
      metrics?.observe({ method, route, status, durationSeconds, bytesIn, bytesOut });
      requestLog.info(
        {
          method,
          path: rawPath,
          ...(routedPath !== rawPath && { routedPath }),
          route,
          status,
          ...(clientClosed && { clientClosed: true }),
          durationMs: durationSeconds * 1000,
          bytesIn,
          bytesOut,
          complete: res.writableFinished,
          // The client: the peer, or the address a trusted reverse proxy (the peer) forwarded.
          remote: client,
          ...(client !== socket.remoteAddress && { peer: socket.remoteAddress }),
        },
        "request",
      );
    });

    const fail = (caught: unknown): void => {
      const error = caught instanceof ImmutableTagError ? immutable(rawPath, caught) : caught;
      const known = error instanceof RegistryError || error instanceof HarborError;
      // The handler failed because its client is gone (reading the body fails with "aborted"
      // once the connection closes): nobody is left to answer, and nothing went wrong here.
      // Told apart by the connection's state, never by the error's code, so that a fault of
      // the server's own (a storage error, whatever its code) still logs at error.
      if (!res.headersSent && socket.destroyed) {
        const code = (error as { code?: unknown } | null | undefined)?.code;
        requestLog.info(
          {
            reason: error instanceof Error ? error.message : String(error),
            ...(typeof code === "string" && { code }),
          },
          "request abandoned by the client",
        );
        res.destroy();
        return;
      }
      // A backend down for now is not the server's fault: a warning, and the client retries.
      const unavailable = known ? undefined : unavailableDependency(error);
      // A full disk is an operator's to fix: one error line with the system's words.
      const full = known || unavailable ? undefined : insufficientStorage(error);
      if (unavailable) {
        const cause = unavailable.cause instanceof Error ? unavailable.cause.message : undefined;
        requestLog.warn({ dependency: unavailable.dependency, reason: unavailable.reason, cause }, unavailable.message);
      } else if (full) {
        const cause = full.cause instanceof Error ? full.cause.message : undefined;
        requestLog.error({ dependency: full.dependency, reason: full.reason, cause }, full.message);
      } else if (!known) {
        requestLog.error({ err: error }, "request failed");
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const answer = known
        ? error
        : unavailable
          ? dependencyUnavailable(rawPath, unavailable)
          : full
            ? noRoom(rawPath, full)
            : internalError(rawPath);
      drainBody(req);
      writeErrorBody(res, answer);
    };

    const dispatch = (path: string): void => {
      routedPath = path;
      const match = router.match(method, path);
      if (match.kind === "not-found") return fail(notFound(path));
      if (match.kind === "method-not-allowed") {
        res.setHeader("Allow", match.allowed.join(", "));
        return fail(methodNotAllowed(path, method));
      }
      route = match.name;
      try {
        Promise.resolve(match.handler({ req, res, url, params: match.params, requestId, log: requestLog })).catch(fail);
      } catch (error) {
        fail(error);
      }
    };

    if (rewrite && isRegistryPath(rawPath)) {
      rewrite(method, rawPath, url, req.headers.host).then((path) => dispatch(path ?? rawPath), fail);
    } else {
      dispatch(rawPath);
    }
  };
}
