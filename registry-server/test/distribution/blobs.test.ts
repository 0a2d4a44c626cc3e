// Blob push and pull as the OCI distribution specification describes them (end-2, 4a-c, 5, 6,
// 10, 11, 13, 14), including its error codes.

import { randomBytes } from "node:crypto";
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { OciClient, sha256, sha512 } from "./oci-client.ts";

const EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("blobs", () => {
  let registry: TestRegistry;
  let client: OciClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    client = new OciClient(registry.url);
  });
  afterAll(() => registry.stop());

  async function startUpload(repository: string, query = ""): Promise<string> {
    const response = await client.request("POST", `/v2/${repository}/blobs/uploads/${query}`);
    expect(response.status).toBe(202);
    const location = response.headers.get("location");
    expect(location).toMatch(new RegExp(`^/v2/${repository}/blobs/uploads/[0-9a-f-]{36}$`));
    expect(response.headers.get("docker-upload-uuid")).toBe(location?.split("/").at(-1));
    return location ?? "";
  }

  it("takes a monolithic single-POST upload and serves it back by GET and HEAD", async () => {
    const data = randomBytes(100_000);
    const digest = sha256(data);
    const response = await client.request("POST", `/v2/mono/single/blobs/uploads/?digest=${digest}`, { body: data });
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe(`/v2/mono/single/blobs/${digest}`);
    expect(response.headers.get("docker-content-digest")).toBe(digest);

    const get = await client.request("GET", `/v2/mono/single/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("docker-content-digest")).toBe(digest);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);

    const head = await client.request("HEAD", `/v2/mono/single/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(data.length));
    expect(await head.text()).toBe("");
  });

  it("takes POST then PUT", async () => {
    const data = Buffer.from("post then put");
    const location = await startUpload("mono/twostep");
    const put = await client.request("PUT", `${location}?digest=${sha256(data)}`, { body: data });
    expect(put.status).toBe(201);
    expect(put.headers.get("location")).toBe(`/v2/mono/twostep/blobs/${sha256(data)}`);
    expect(await (await client.request("GET", `/v2/mono/twostep/blobs/${sha256(data)}`)).text()).toBe("post then put");
  });

  it("takes chunks in order, refuses one out of order with 416 and the current range, and reports status", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const chunks = [data.subarray(0, 1_000_000), data.subarray(1_000_000, 2_500_000), data.subarray(2_500_000)];
    let location = await startUpload("chunked/repo");

    const first = await client.request("PATCH", location, {
      headers: { "Content-Range": "0-999999", "Content-Type": "application/octet-stream" },
      body: chunks[0],
    });
    expect(first.status).toBe(202);
    expect(first.headers.get("range")).toBe("0-999999");
    location = first.headers.get("location") ?? "";

    const outOfOrder = await client.request("PATCH", location, {
      headers: { "Content-Range": "1000001-1000010" },
      body: randomBytes(10),
    });
    expect(outOfOrder.status).toBe(416);
    expect(outOfOrder.headers.get("range")).toBe("0-999999");
    expect(outOfOrder.headers.get("location")).toBe(location);

    const status = await client.request("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-999999");

    const second = await client.request("PATCH", location, {
      headers: { "Content-Range": "1000000-2499999" },
      body: chunks[1],
    });
    expect(second.status).toBe(202);
    expect(second.headers.get("range")).toBe("0-2499999");

    // The last chunk rides on the closing PUT.
    const close = await client.request("PUT", `${location}?digest=${sha256(data)}`, {
      headers: { "Content-Range": `2500000-${data.length - 1}` },
      body: chunks[2],
    });
    expect(close.status).toBe(201);
    const get = await client.request("GET", `/v2/chunked/repo/blobs/${sha256(data)}`);
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(sha256(data));
  });

  it("refuses a malformed Content-Range with 416", async () => {
    const location = await startUpload("chunked/bad-range");
    const response = await client.request("PATCH", location, {
      headers: { "Content-Range": "bytes=zero-ten" },
      body: "x",
    });
    expect(response.status).toBe(416);
  });

  it("refuses a wrong digest with DIGEST_INVALID and publishes nothing", async () => {
    const data = Buffer.from("the real content");
    const wrong = sha256("other content");
    const mono = await client.request("POST", `/v2/digests/repo/blobs/uploads/?digest=${wrong}`, { body: data });
    expect(mono.status).toBe(400);
    expect(await client.errorCode(mono)).toBe("DIGEST_INVALID");
    expect((await client.request("HEAD", `/v2/digests/repo/blobs/${wrong}`)).status).toBe(404);
    expect((await client.request("HEAD", `/v2/digests/repo/blobs/${sha256(data)}`)).status).toBe(404);

    const location = await startUpload("digests/repo");
    const put = await client.request("PUT", `${location}?digest=${wrong}`, { body: data });
    expect(put.status).toBe(400);
    expect(await client.errorCode(put)).toBe("DIGEST_INVALID");
    expect((await client.request("HEAD", `/v2/digests/repo/blobs/${wrong}`)).status).toBe(404);
  });

  it("refuses malformed and unsupported digests with 400 DIGEST_INVALID", async () => {
    for (const digest of [
      "sha256:abc",
      "md5:0123456789abcdef0123456789abcdef",
      "sha256:" + "G".repeat(64),
      "nonsense",
    ]) {
      const response = await client.request(
        "POST",
        `/v2/digests/bad/blobs/uploads/?digest=${encodeURIComponent(digest)}`,
        { body: "x" },
      );
      expect(response.status, digest).toBe(400);
      expect(await client.errorCode(response)).toBe("DIGEST_INVALID");
    }
    const get = await client.request("GET", "/v2/digests/bad/blobs/sha256:short");
    expect(get.status).toBe(400);
    expect(await client.errorCode(get)).toBe("DIGEST_INVALID");
    const algorithm = await client.request("POST", "/v2/digests/bad/blobs/uploads/?digest-algorithm=md5");
    expect(algorithm.status).toBe(400);
  });

  it("refuses a body that does not match its declared length with SIZE_INVALID", async () => {
    const data = Buffer.from("0123456789");
    const location = await startUpload("sizes/repo");
    const response = await client.request("PATCH", location, { headers: { "Content-Range": "0-19" }, body: data });
    expect(response.status).toBe(416);
    const status = await client.request("GET", location);
    expect(status.headers.get("range")).toBe("0-0");
  });

  it("supports sha512 for chunked and monolithic uploads", async () => {
    const data = randomBytes(5000);
    const location = await startUpload("sha512/repo", "?digest-algorithm=sha512");
    const patch = await client.request("PATCH", location, { headers: { "Content-Range": "0-4999" }, body: data });
    expect(patch.status).toBe(202);
    const put = await client.request("PUT", `${patch.headers.get("location")}?digest=${sha512(data)}`);
    expect(put.status).toBe(201);
    expect(put.headers.get("docker-content-digest")).toBe(sha512(data));
    const get = await client.request("GET", `/v2/sha512/repo/blobs/${sha512(data)}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);

    const other = randomBytes(100);
    const mono = await client.request("POST", `/v2/sha512/repo/blobs/uploads/?digest=${sha512(other)}`, {
      body: other,
    });
    expect(mono.status).toBe(201);
    // A session started for sha256 still closes with a sha512 digest (rehashed from storage).
    const third = randomBytes(300);
    const plain = await startUpload("sha512/repo");
    await client.request("PATCH", plain, { headers: { "Content-Range": "0-299" }, body: third });
    expect((await client.request("PUT", `${plain}?digest=${sha512(third)}`)).status).toBe(201);
  });

  it("stores and serves the empty blob", async () => {
    const response = await client.request("POST", `/v2/empty/repo/blobs/uploads/?digest=${EMPTY_SHA256}`, {
      body: Buffer.alloc(0),
    });
    expect(response.status).toBe(201);
    const get = await client.request("GET", `/v2/empty/repo/blobs/${EMPTY_SHA256}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("content-length")).toBe("0");
    expect(await get.text()).toBe("");
  });

  it("cancels an upload, after which its session is unknown", async () => {
    const location = await startUpload("cancel/repo");
    await client.request("PATCH", location, { headers: { "Content-Range": "0-3" }, body: "abcd" });
    const cancel = await client.request("DELETE", location);
    expect(cancel.status).toBe(204);
    const status = await client.request("GET", location);
    expect(status.status).toBe(404);
    expect(await client.errorCode(status)).toBe("BLOB_UPLOAD_UNKNOWN");
    const unknown = await client.request(
      "PATCH",
      "/v2/cancel/repo/blobs/uploads/00000000-0000-0000-0000-000000000000",
      { body: "x" },
    );
    expect(unknown.status).toBe(404);
    expect((await client.request("GET", "/v2/cancel/repo/blobs/uploads/not-a-uuid")).status).toBe(404);
  });

  it("does not let one repository continue another's upload", async () => {
    const location = await startUpload("owner/repo");
    const stolen = location.replace("owner/repo", "thief/repo");
    expect((await client.request("GET", stolen)).status).toBe(404);
  });

  it("serves byte ranges and refuses unsatisfiable ones", async () => {
    const data = Buffer.from("0123456789abcdef");
    const digest = await client.pushBlob("ranges/repo", data);
    const middle = await client.request("GET", `/v2/ranges/repo/blobs/${digest}`, { headers: { Range: "bytes=2-5" } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe("bytes 2-5/16");
    expect(await middle.text()).toBe("2345");
    const tail = await client.request("GET", `/v2/ranges/repo/blobs/${digest}`, { headers: { Range: "bytes=-3" } });
    expect(await tail.text()).toBe("def");
    const open = await client.request("GET", `/v2/ranges/repo/blobs/${digest}`, { headers: { Range: "bytes=10-" } });
    expect(await open.text()).toBe("abcdef");
    const outside = await client.request("GET", `/v2/ranges/repo/blobs/${digest}`, {
      headers: { Range: "bytes=16-20" },
    });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe("bytes */16");
  });

  it("serves ranges across the parts of a chunked blob", async () => {
    const data = randomBytes(3000);
    let location = await startUpload("ranges/chunked");
    for (const [start, end] of [
      [0, 999],
      [1000, 1999],
      [2000, 2999],
    ] as const) {
      const response = await client.request("PATCH", location, {
        headers: { "Content-Range": `${start}-${end}` },
        body: data.subarray(start, end + 1),
      });
      location = response.headers.get("location") ?? "";
    }
    expect((await client.request("PUT", `${location}?digest=${sha256(data)}`)).status).toBe(201);
    const across = await client.request("GET", `/v2/ranges/chunked/blobs/${sha256(data)}`, {
      headers: { Range: "bytes=900-2100" },
    });
    expect(Buffer.from(await across.arrayBuffer()).equals(data.subarray(900, 2101))).toBe(true);
  });

  it("mounts a blob from another repository, and without naming one", async () => {
    const digest = await client.pushBlob("mount/source", "shared layer");
    const withFrom = await client.request("POST", `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`);
    expect(withFrom.status).toBe(201);
    expect(withFrom.headers.get("location")).toBe(`/v2/mount/target/blobs/${digest}`);
    expect(await (await client.request("GET", `/v2/mount/target/blobs/${digest}`)).text()).toBe("shared layer");

    const withoutFrom = await client.request("POST", `/v2/mount/other/blobs/uploads/?mount=${digest}`);
    expect(withoutFrom.status).toBe(201);

    const unknown = await client.request(
      "POST",
      `/v2/mount/target/blobs/uploads/?mount=${sha256("never pushed")}&from=mount/source`,
    );
    expect(unknown.status).toBe(202);
    expect(unknown.headers.get("location")).toMatch(/^\/v2\/mount\/target\/blobs\/uploads\//);
  });

  it("deletes a blob from a repository", async () => {
    const digest = await client.pushBlob("delete/blob", "to be deleted");
    const response = await client.request("DELETE", `/v2/delete/blob/blobs/${digest}`);
    expect(response.status).toBe(202);
    const get = await client.request("GET", `/v2/delete/blob/blobs/${digest}`);
    expect(get.status).toBe(404);
    expect(await client.errorCode(get)).toBe("BLOB_UNKNOWN");
    expect((await client.request("DELETE", `/v2/delete/blob/blobs/${digest}`)).status).toBe(404);
  });

  it("answers 404 BLOB_UNKNOWN for a blob the repository does not have", async () => {
    const digest = await client.pushBlob("private/one", "only in one");
    const response = await client.request("GET", `/v2/private/two/blobs/${digest}`);
    expect(response.status).toBe(404);
    expect(await client.errorCode(response)).toBe("BLOB_UNKNOWN");
  });

  it("refuses invalid repository names, traversal and encoded slashes with NAME_INVALID", async () => {
    const digest = sha256("x");
    for (const path of [
      `/v2/UPPER/blobs/${digest}`,
      `/v2/a%2Fb/blobs/${digest}`,
      `/v2/a/../b/blobs/${digest}`,
      `/v2/-lead/blobs/${digest}`,
      `/v2/a//b/blobs/${digest}`,
    ]) {
      const status = await rawStatus(registry.url, "GET", path);
      expect(status.status, path).toBe(400);
      expect(status.code, path).toBe("NAME_INVALID");
    }
  });

  it("leaves nothing visible when the client disconnects mid-upload, and the session can go on", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const digest = sha256(data);
    // A monolithic upload cut off halfway.
    await sendHalfAndDisconnect(registry.url, `/v2/killed/repo/blobs/uploads/?digest=${digest}`, "POST", data);
    expect((await client.request("HEAD", `/v2/killed/repo/blobs/${digest}`)).status).toBe(404);

    // A chunk cut off halfway: the session keeps what it had before.
    const location = await startUpload("killed/repo");
    await sendHalfAndDisconnect(registry.url, location, "PATCH", data);
    const status = await client.request("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-0");
    const retry = await client.request("PATCH", location, {
      headers: { "Content-Range": `0-${data.length - 1}` },
      body: data,
    });
    expect(retry.status).toBe(202);
    expect((await client.request("PUT", `${location}?digest=${digest}`)).status).toBe(201);
    expect((await client.request("HEAD", `/v2/killed/repo/blobs/${digest}`)).status).toBe(200);
  });
});

async function rawStatus(
  base: string,
  method: string,
  path: string,
): Promise<{ status: number; code: string | undefined }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method,
        path,
        headers: { Authorization: `Basic ${Buffer.from("admin:test-admin-password").toString("base64")}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Declares the whole body, sends half of it, then drops the connection. */
async function sendHalfAndDisconnect(base: string, path: string, method: string, data: Buffer): Promise<void> {
  const { hostname, port } = new URL(base);
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: hostname,
      port,
      method,
      path,
      headers: {
        Authorization: `Basic ${Buffer.from("admin:test-admin-password").toString("base64")}`,
        "Content-Length": data.length,
        ...(method === "PATCH" && { "Content-Range": `0-${data.length - 1}` }),
      },
    });
    req.on("error", () => resolve());
    req.write(data.subarray(0, data.length / 2), () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
  });
  // Give the server a moment to notice and clean up.
  await new Promise((resolve) => setTimeout(resolve, 300));
}
