// The server with its metadata in PostgreSQL: a push and a pull through /v2, two servers sharing
// the database as replicas do (started at once, each serving what the other stored), and the
// database's password kept out of the logs.

import { existsSync } from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ServerConfig } from "../../src/config.ts";
import { OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, tempDir, writeFile, type TestRegistry } from "../helpers.ts";
import { createTestDatabase, withClient, type TestDatabase } from "./postgres-database.ts";

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
}, 60_000);

function postgres(url: string, extra: { passwordFile?: string } = {}): Partial<ServerConfig> {
  return { metadata: { postgres: { url, maxConnections: 4, ...extra } } };
}

describe("registry server with PostgreSQL metadata", () => {
  const running: TestRegistry[] = [];
  const cleanups: Array<() => void> = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((registry) => registry.stop()));
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function freshUrl(): Promise<string> {
    if (!database) throw new Error("the test database was not created");
    return (await database.freshSchema()).url;
  }

  it("pushes and pulls an image, keeping its metadata in the database and none on disk", async () => {
    const url = await freshUrl();
    const registry = await startTestRegistry(postgres(url));
    running.push(registry);
    const client = new OciClient(registry.url);

    const pushed = await client.pushImage("library/app", "v1", { layer: "the layer's bytes" });
    const manifest = await client.request("GET", "/v2/library/app/manifests/v1", { headers: { Accept: OCI_MANIFEST } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("docker-content-digest")).toBe(pushed.digest);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    const layer = (JSON.parse(pushed.bytes.toString("utf8")) as { layers: Array<{ digest: string }> }).layers[0];
    const blob = await client.request("GET", `/v2/library/app/blobs/${layer?.digest ?? ""}`);
    expect(blob.status).toBe(200);
    expect(await blob.text()).toBe("the layer's bytes");
    expect(await (await client.request("GET", "/v2/library/app/tags/list")).json()).toEqual({
      name: "library/app",
      tags: ["v1"],
    });

    const rows = await withClient(
      url,
      async (db) => (await db.query<{ digest: string }>("SELECT digest FROM manifests")).rows,
    );
    expect(rows).toEqual([{ digest: pushed.digest }]);
    expect(existsSync(path.join(registry.dataDir, "metadata", "registry.db"))).toBe(false);
  });

  it("serves from one replica what was pushed through another, both started at once", async () => {
    const url = await freshUrl();
    // The blobs' directory is shared as an S3 bucket would be; the metadata is the database's.
    const shared = tempDir("shared");
    cleanups.push(shared.remove);
    const [first, second] = await Promise.all([
      startTestRegistry({ ...postgres(url), dataDir: shared.dir }),
      startTestRegistry({ ...postgres(url), dataDir: shared.dir }),
    ]);
    running.push(first, second);

    const pushed = await new OciClient(first.url).pushImage("team/app", "1.0");
    const other = new OciClient(second.url);
    const pulled = await other.request("GET", "/v2/team/app/manifests/1.0", { headers: { Accept: OCI_MANIFEST } });
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get("docker-content-digest")).toBe(pushed.digest);
    expect(await (await other.request("GET", "/v2/_catalog")).json()).toEqual({ repositories: ["team/app"] });
    // A tag moved on the second is seen by the first.
    await other.pushImage("team/app", "1.0", { layer: "a newer layer" });
    const moved = await new OciClient(first.url).request("HEAD", "/v2/team/app/manifests/1.0", {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(moved.headers.get("docker-content-digest")).not.toBe(pushed.digest);
  });

  it("reads the password from passwordFile, and never logs it", async () => {
    const url = new URL(await freshUrl());
    const secrets = tempDir("secrets");
    cleanups.push(secrets.remove);
    // The test server trusts local connections, so any password opens it; what matters is where
    // it is read from and that it appears nowhere.
    const passwordFile = writeFile(secrets.dir, "db-password", "file-secret-71\n");
    const fromFile = await startTestRegistry(postgres(url.href, { passwordFile }));
    running.push(fromFile);
    expect(fromFile.logs.join("\n")).toContain('"msg":"metadata store: PostgreSQL"');
    expect(fromFile.logs.join("\n")).not.toContain("file-secret-71");

    url.password = "url-secret-72";
    const inUrl = await startTestRegistry(postgres(url.href));
    running.push(inUrl);
    expect(inUrl.logs.join("\n")).toContain("*****@127.0.0.1");
    expect(inUrl.logs.join("\n")).not.toContain("url-secret-72");

    await expect(
      startTestRegistry(postgres(url.href, { passwordFile: path.join(secrets.dir, "none") })),
    ).rejects.toThrow(/cannot read metadata.postgres.passwordFile/);
  });

  it("fails to start when the database cannot be reached, naming it without its password", async () => {
    const start = startTestRegistry(postgres("postgres://postgres:hidden-73@127.0.0.1:1/airlock"));
    await expect(start).rejects.toThrow(
      /cannot open the metadata database postgres:\/\/postgres:\*\*\*\*\*@127\.0\.0\.1:1/,
    );
    await expect(start).rejects.not.toThrow(/hidden-73/);
  });
});
