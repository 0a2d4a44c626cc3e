// A small scanner adapter for the tests, speaking Harbor's Scanner Adapter API v1.2 on 127.0.0.1
// with node:http: metadata, scans that are pending for a given number of polls and then ready, an
// error document on demand, and a record of every request (method, path, headers, body) so that
// tests can check what the registry sent. Its behaviour is switched through `mode`; per scan, the
// tests may act on the request (`onScan`: use its pull token) and choose each report's answer
// (`answer`: the report, an error document, or "not yet" forever).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ScannerAdapterMetadata, ScanRequest } from "../../src/scan/scanner-adapter.ts";

export const FAKE_METADATA: ScannerAdapterMetadata = {
  scanner: { name: "Fake", vendor: "Airlock tests", version: "1.2.3" },
  capabilities: [
    {
      type: "vulnerability",
      consumes_mime_types: [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ],
      produces_mime_types: ["application/vnd.security.vulnerability.report; version=1.1"],
    },
    {
      type: "sbom",
      consumes_mime_types: ["application/vnd.oci.image.manifest.v1+json"],
      produces_mime_types: ["application/vnd.security.sbom.report+json; version=1.0"],
      additional_attributes: { sbom_media_types: ["application/spdx+json"] },
    },
  ],
  properties: { "harbor.scanner-adapter/vulnerability-database-updated-at": "2024-05-06T07:08:09Z" },
};

export const FAKE_REPORT = {
  generated_at: "2024-05-06T07:08:09Z",
  severity: "High",
  vulnerabilities: [{ id: "CVE-2024-0001", package: "openssl", version: "1.0", severity: "High" }],
};

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A scan the adapter accepted: its id and the request, parsed. */
export interface AcceptedScan {
  readonly id: string;
  readonly request: ScanRequest;
  readonly headers: IncomingMessage["headers"];
}

/** A report poll's answer once the pending polls are over: a report, an error, or never ready. */
export type ScanAnswer = { readonly report: unknown } | { readonly error: string } | "never";

export type FakeMode =
  | "normal"
  /** Every request answers 500 with the API's error document. */
  | "error"
  /** Reports are larger than any sane bound, streamed without a length. */
  | "huge-report"
  /** Metadata answers with a redirect. */
  | "redirect"
  /** Requests get no answer at all. */
  | "silent";

export class FakeScannerAdapter {
  readonly requests: RecordedRequest[] = [];
  /** The header value a request must carry ("authorization" or the API key header), when set. */
  requiredHeader: { name: string; value: string } | undefined;
  mode: FakeMode = "normal";
  /** How many report polls answer 302 before the report is ready. */
  pendingPolls = 1;
  /** The `Refresh-After` of a pending report, in seconds. */
  refreshAfter = 2;
  readonly scans: AcceptedScan[] = [];
  /** Called with each scan accepted, before the 202 answers it. */
  onScan: ((scan: AcceptedScan) => Promise<void>) | undefined;
  /** Each report's answer; FAKE_REPORT when unset or undefined. */
  answer: ((scan: AcceptedScan) => ScanAnswer | undefined) | undefined;
  private readonly polls = new Map<string, number>();
  private server: Server | undefined;
  private nextId = 1;

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error("the fake adapter is not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // The API lives under the registration's URL, whatever path that has.
    const path = (req.url ?? "").replace(/^\/.*?(?=\/api\/v1\/)/, "");
    this.requests.push({
      method: req.method ?? "",
      path,
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    if (this.mode === "silent") return;
    if (this.requiredHeader && req.headers[this.requiredHeader.name] !== this.requiredHeader.value) {
      res.writeHead(401, { "Content-Type": "application/vnd.scanner.adapter.error+json; version=1.0" });
      res.end(JSON.stringify({ error: { message: "unauthorized" } }));
      return;
    }
    if (this.mode === "error") {
      res.writeHead(500, { "Content-Type": "application/vnd.scanner.adapter.error+json; version=1.0" });
      res.end(JSON.stringify({ error: { message: "the scanner broke\nbadly" } }));
      return;
    }
    if (req.method === "GET" && path === "/api/v1/metadata") {
      if (this.mode === "redirect") {
        res.writeHead(302, { Location: "http://127.0.0.1:1/elsewhere" });
        res.end();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/vnd.scanner.adapter.metadata+json; version=1.0" });
      res.end(JSON.stringify(FAKE_METADATA));
      return;
    }
    if (req.method === "POST" && path === "/api/v1/scan") {
      const id = `scan-${this.nextId++}`;
      const scan: AcceptedScan = {
        id,
        request: JSON.parse(this.requests.at(-1)?.body ?? "{}") as ScanRequest,
        headers: req.headers,
      };
      this.scans.push(scan);
      if (this.onScan) await this.onScan(scan);
      res.writeHead(202, { "Content-Type": "application/vnd.scanner.adapter.scan.response+json; version=1.0" });
      res.end(JSON.stringify({ id }));
      return;
    }
    // v1.2's report parameters (sbom_media_type) come in the query; the path is matched without it.
    const report = /^\/api\/v1\/scan\/([^/?]+)\/report(?:\?.*)?$/.exec(path);
    if (req.method === "GET" && report?.[1]) {
      const id = decodeURIComponent(report[1]);
      if (!id.startsWith("scan-")) {
        res.writeHead(404);
        res.end();
        return;
      }
      const polled = this.polls.get(id) ?? 0;
      this.polls.set(id, polled + 1);
      const scan = this.scans.find((s) => s.id === id);
      const answer = scan && this.answer?.(scan);
      if (polled < this.pendingPolls || answer === "never") {
        res.writeHead(302, { "Refresh-After": String(this.refreshAfter) });
        res.end();
        return;
      }
      if (answer !== undefined && "error" in answer) {
        res.writeHead(500, { "Content-Type": "application/vnd.scanner.adapter.error+json; version=1.0" });
        res.end(JSON.stringify({ error: { message: answer.error } }));
        return;
      }
      if (this.mode === "huge-report") {
        res.writeHead(200, { "Content-Type": String(req.headers["accept"]) });
        // 8 MiB of a JSON string, in 64 KiB chunks, with no Content-Length.
        res.write('{"padding":"');
        const chunk = "x".repeat(64 * 1024);
        for (let i = 0; i < 128 && !res.destroyed; i++) {
          if (!res.write(chunk)) await drainedOrClosed(res);
        }
        res.end('"}');
        return;
      }
      res.writeHead(200, { "Content-Type": String(req.headers["accept"]) });
      res.end(JSON.stringify(answer === undefined ? FAKE_REPORT : answer.report));
      return;
    }
    res.writeHead(404);
    res.end();
  }
}

/** Resolves when the response can take more, or is gone (leaving no listener behind). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
