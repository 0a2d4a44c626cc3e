// A client that goes away in the middle of an upload (a cut connection, a killed docker push) is
// not a server fault: the request is logged as what it was, a request the client abandoned
// before any answer (status 499, nginx's "client closed request", with clientClosed: true), at
// info, never at error and never as a 200. Real server faults on the same path still log at error with their 500.

import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient, sha256 } from "./oci-client.ts";

interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  status?: number;
  [key: string]: unknown;
}

const AUTHORIZATION = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64")}`;

/** The registry's log lines of one request, once its access line is there (bounded wait). */
async function linesOf(registry: TestRegistry, requestId: string): Promise<LogLine[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = registry.logs
      .map((line) => JSON.parse(line) as LogLine)
      .filter((line) => line.requestId === requestId);
    // The access line, and time for a failure logged after it to arrive too.
    if (lines.some((line) => line.msg === "request")) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return registry.logs.map((line) => JSON.parse(line) as LogLine).filter((line) => line.requestId === requestId);
    }
    if (Date.now() > deadline) throw new Error(`no access log line for ${requestId} within 10s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Sends `sent` bytes of a body announced as `declared` bytes, waits until the server has had
 * time to start storing them, then cuts the connection.
 */
async function abortMidBody(url: string, method: string, requestId: string, declared: number, sent: number) {
  const target = new URL(url);
  await new Promise<void>((resolve) => {
    const req = http.request(target, {
      method,
      agent: false,
      headers: {
        Authorization: AUTHORIZATION,
        "Content-Type": "application/octet-stream",
        "Content-Length": String(declared),
        "X-Request-Id": requestId,
      },
    });
    // The server answers nothing before the body is complete; only the cut ends this request.
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.write(Buffer.alloc(sent, 7), () => {
      setTimeout(() => req.destroy(), 300);
    });
  });
}

describe("a client that goes away mid-upload", () => {
  let registry: TestRegistry;
  let client: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry(
      {},
      {
        extraRoutes: (router) => {
          // A handler that fails on its own while the client is still there, with the kind of
          // error a cut connection also raises: it must still be reported as the server's fault.
          router.add("test_fault", "PATCH", /^\/test\/fault$/, async (ctx) => {
            for await (const chunk of ctx.req) void chunk;
            throw Object.assign(new Error("storage went away"), { code: "ECONNRESET" });
          });
        },
      },
    );
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());

  async function startUpload(repository: string): Promise<string> {
    const started = await client.request("POST", `/v2/${repository}/blobs/uploads/`);
    expect(started.status).toBe(202);
    return new URL(started.headers.get("location") ?? "", registry.url).toString();
  }

  it("logs an abandoned PATCH as a 499 at info, without an error line, and the session stays usable", async () => {
    const location = await startUpload("abort/patch");
    await abortMidBody(location, "PATCH", "abort-patch", 4 * 1024 * 1024, 256 * 1024);
    const lines = await linesOf(registry, "abort-patch");

    expect(lines.filter((line) => line.level === "error" || line.level === "fatal")).toEqual([]);
    expect(lines.find((line) => line.msg === "request")).toMatchObject({
      level: "info",
      status: 499,
      route: "upload_chunk",
      complete: false,
      clientClosed: true,
    });
    expect(lines.find((line) => line.msg === "request abandoned by the client")).toMatchObject({ level: "info" });
    expect(lines.some((line) => line.status === 200)).toBe(false);

    // Nothing of the cut chunk was recorded: the session is at 0 and takes the blob whole.
    const status = await client.request("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-0");
    const data = Buffer.from("after the cut");
    const completed = await client.request("PUT", `${location}?digest=${sha256(data)}`, {
      headers: { "Content-Type": "application/octet-stream" },
      body: data,
    });
    expect(completed.status).toBe(201);
  });

  it("logs an abandoned closing PUT the same way", async () => {
    const location = await startUpload("abort/put");
    const digest = sha256("whatever the client meant to send");
    await abortMidBody(`${location}?digest=${digest}`, "PUT", "abort-put", 2 * 1024 * 1024, 128 * 1024);
    const lines = await linesOf(registry, "abort-put");

    expect(lines.filter((line) => line.level === "error" || line.level === "fatal")).toEqual([]);
    expect(lines.find((line) => line.msg === "request")).toMatchObject({
      level: "info",
      status: 499,
      route: "upload_complete",
      clientClosed: true,
    });
    expect((await client.request("HEAD", `/v2/abort/put/blobs/${digest}`)).status).toBe(404);
  });

  it("counts the abandoned request as 499 in the metrics, not 200", async () => {
    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    expect(metrics).toMatch(/airlock_http_requests_total\{method="PATCH",route="upload_chunk",status="499"\} [1-9]/);
  });

  it("still logs a server fault at error, with its 500, when the client is there to receive it", async () => {
    const reply = await client.request("PATCH", "/test/fault", {
      headers: { "X-Request-Id": "real-fault" },
      body: "some bytes",
    });
    expect(reply.status).toBe(500);
    const lines = await linesOf(registry, "real-fault");
    expect(lines.find((line) => line.level === "error")).toMatchObject({ msg: "request failed" });
    expect(lines.find((line) => line.msg === "request")).toMatchObject({ status: 500, complete: true });
    expect(lines.find((line) => line.msg === "request")).not.toHaveProperty("clientClosed");
  });
});
