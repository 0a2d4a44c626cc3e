// The S3 client's behaviour where a real S3 server cannot be made to misbehave on cue: a scripted
// server on loopback answers throttling, 5xx, refusals, a CompleteMultipartUpload that fails
// inside a 200, and the client's retries, error names and credentials are read off what it sent.
// The calls themselves, against versitygw, are in s3-driver.test.ts.

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { S3Client, S3ConnectionError, S3ResponseError } from "../../src/storage/s3-client.ts";
import { s3UnavailableReason } from "../../src/storage/s3-failures.ts";
import { freePort } from "../upstream/distribution-server.ts";

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Answer {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** A server that gives the answers in order (the last one again once they run out). */
async function scriptedServer(answers: readonly Answer[]): Promise<{ endpoint: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const answer = answers[Math.min(received.length, answers.length) - 1] ?? { status: 500 };
      response.writeHead(answer.status, answer.headers);
      response.end(request.method === "HEAD" ? undefined : answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function clientFor(endpoint: string, withKeys = true): S3Client {
  return new S3Client({
    endpoint,
    region: "eu-west-3",
    forcePathStyle: true,
    ...(withKeys && { credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" } }),
    insecure: false,
  });
}

function errorDocument(code: string, message = "details"): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>r-1</RequestId></Error>`;
}

async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error,
  );
}

describe("the S3 client", () => {
  it("sends a part again when S3 throttles, the same bytes both times", async () => {
    const { endpoint, received } = await scriptedServer([
      { status: 503, body: errorDocument("SlowDown", "Please reduce your request rate.") },
      { status: 200, headers: { etag: '"part-etag"' } },
    ]);
    const body = Buffer.from("part bytes");
    expect(await clientFor(endpoint).uploadPart("bucket", "a/b", "upload-1", 7, body)).toBe('"part-etag"');
    expect(received.map((request) => request.url)).toEqual([
      "/bucket/a/b?partNumber=7&uploadId=upload-1",
      "/bucket/a/b?partNumber=7&uploadId=upload-1",
    ]);
    expect(received.map((request) => request.body.toString())).toEqual(["part bytes", "part bytes"]);
  });

  it("gives up after three tries, with S3's code as the error's name", async () => {
    const { endpoint, received } = await scriptedServer([{ status: 503, body: errorDocument("SlowDown") }]);
    const error = await failure(clientFor(endpoint).deleteObject("bucket", "k"));
    expect(error).toBeInstanceOf(S3ResponseError);
    expect((error as S3ResponseError).name).toBe("SlowDown");
    expect((error as S3ResponseError).status).toBe(503);
    expect((error as S3ResponseError).requestId).toBe("r-1");
    expect(s3UnavailableReason(error)).toBe("throttled or unavailable (503 SlowDown)");
    expect(received).toHaveLength(3);
  });

  it("does not retry a refusal, and the refusal is no outage", async () => {
    const { endpoint, received } = await scriptedServer([{ status: 403, body: errorDocument("AccessDenied") }]);
    const error = await failure(clientFor(endpoint).getObject("bucket", "k"));
    expect((error as Error).name).toBe("AccessDenied");
    expect((error as Error).message).toContain("GetObject bucket/k: AccessDenied: details");
    expect(s3UnavailableReason(error)).toBeUndefined();
    expect(received).toHaveLength(1);
  });

  it("reads the error inside a CompleteMultipartUpload's 200, and retries it when it passes", async () => {
    const failedInside = errorDocument("InternalError", "We encountered an internal error.");
    const { endpoint, received } = await scriptedServer([
      { status: 200, body: failedInside },
      { status: 200, body: "<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>" },
    ]);
    const parts = [
      { partNumber: 1, etag: '"a"' },
      { partNumber: 2, etag: '"b"' },
    ];
    await clientFor(endpoint).completeMultipartUpload("bucket", "k", "u", parts);
    expect(received).toHaveLength(2);
    expect(received[0]?.body.toString()).toBe(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>" +
        "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>",
    );

    const { endpoint: refusing } = await scriptedServer([{ status: 200, body: errorDocument("InvalidPart") }]);
    const error = await failure(clientFor(refusing).completeMultipartUpload("bucket", "k", "u", parts));
    expect((error as S3ResponseError).name).toBe("InvalidPart");
    expect((error as S3ResponseError).status).toBe(200);
  });

  it("signs again with S3's time when S3 refuses the machine's clock", async () => {
    const hourAhead = new Date(Date.now() + 3_600_000);
    const { endpoint, received } = await scriptedServer([
      {
        status: 403,
        body: errorDocument(
          "RequestTimeTooSkewed",
          "The difference between the request time and the current time is too large.",
        ),
        headers: { date: hourAhead.toUTCString() },
      },
      { status: 200 },
    ]);
    const client = clientFor(endpoint);
    await client.deleteObject("bucket", "k");
    await client.deleteObject("bucket", "k");
    const signedAt = received.map((request) =>
      Date.parse(
        String(request.headers["x-amz-date"]).replace(
          /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
          "$1-$2-$3T$4:$5:$6Z",
        ),
      ),
    );
    expect(received).toHaveLength(3);
    // The first with the machine's clock, the next two (the retry, then a new call) with S3's.
    expect(Math.abs((signedAt[0] ?? 0) - Date.now())).toBeLessThan(60_000);
    for (const time of signedAt.slice(1)) expect(Math.abs(time - hourAhead.getTime())).toBeLessThan(60_000);
  });

  it("leaves a skew refusal as it is when S3's clock agrees with the machine's", async () => {
    const { endpoint, received } = await scriptedServer([
      {
        status: 403,
        body: errorDocument("RequestTimeTooSkewed"),
        headers: { date: new Date().toUTCString() },
      },
    ]);
    const error = await failure(clientFor(endpoint).deleteObject("bucket", "k"));
    expect((error as Error).name).toBe("RequestTimeTooSkewed");
    expect(received).toHaveLength(1);
  });

  it("names the errors of bodiless answers by their status", async () => {
    const { endpoint } = await scriptedServer([{ status: 404 }, { status: 403 }]);
    const client = clientFor(endpoint);
    expect(await client.headObject("bucket", "missing")).toBeUndefined();
    expect(((await failure(client.headBucket("bucket"))) as Error).name).toBe("Forbidden");
  });

  it("reports a server that refuses connections as S3ConnectionError, after its retries", async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await failure(clientFor(`http://127.0.0.1:${port}`).headBucket("bucket"));
    expect(error).toBeInstanceOf(S3ConnectionError);
    expect(s3UnavailableReason(error)).toBe("unreachable (ECONNREFUSED)");
    // Two waits of at most 200 and 400 ms.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops retrying as soon as the caller gives up", async () => {
    const { endpoint, received } = await scriptedServer([{ status: 500, body: errorDocument("InternalError") }]);
    const caller = new AbortController();
    const call = clientFor(endpoint).headBucket("bucket", caller.signal);
    caller.abort(new Error("health check over"));
    await expect(call).rejects.toThrow();
    expect(received.length).toBeLessThanOrEqual(1);
  });

  it("lists keys with their entities decoded and the continuation token passed on", async () => {
    const page =
      "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/2+</NextContinuationToken>" +
      "<Contents><Key>p/a&amp;b</Key><Size>3</Size><LastModified>2026-12-07T10:00:00.000Z</LastModified></Contents>" +
      "</ListBucketResult>";
    const { endpoint, received } = await scriptedServer([{ status: 200, body: page }]);
    const listing = await clientFor(endpoint).listObjects("bucket", "p/", 1000, "t/1+");
    expect(listing).toEqual({
      objects: [{ key: "p/a&b", size: 3, modifiedAt: new Date("2026-12-07T10:00:00.000Z") }],
      isTruncated: true,
      nextContinuationToken: "t/2+",
    });
    const query = new URL(received[0]?.url ?? "", "http://x").searchParams;
    expect(Object.fromEntries(query)).toEqual({
      "list-type": "2",
      prefix: "p/",
      "max-keys": "1000",
      "continuation-token": "t/1+",
    });
  });

  it("signs with the credentials of AWS's chain when none are configured", async () => {
    const { endpoint, received } = await scriptedServer([{ status: 200 }]);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIDFROMCHAIN",
      AWS_SECRET_ACCESS_KEY: "chain-secret",
      AWS_SESSION_TOKEN: "chain-session",
    });
    try {
      await clientFor(endpoint, false).headBucket("bucket");
    } finally {
      for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
    const headers = received[0]?.headers ?? {};
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFROMCHAIN\/\d{8}\/eu-west-3\/s3\//);
    expect(headers["x-amz-security-token"]).toBe("chain-session");
    expect(headers["x-amz-content-sha256"]).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
