// Two PostgreSQL metadata stores on one database, standing for two replicas: the races the
// registry's callers rely on being settled by the store (appendPart's compare-and-set, one blob
// created twice, the quota check before linking). Each race is forced with a barrier: both
// transactions read, then both write, so that the interleaving is the bad one every time.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureAdminAccount } from "../../src/auth/admin-account.ts";
import { checkQuota } from "../../src/content/quota-policy.ts";
import { RegistryError } from "../../src/http/errors.ts";
import type { BlobRecord, MetadataStore, UploadRecord } from "../../src/metadata/metadata-store.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import { digestOf } from "../contracts/metadata-store-contract.ts";
import { createTestDatabase, within, type TestDatabase } from "./postgres-database.ts";

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
}, 60_000);

/** Resolves for everyone once `parties` have arrived; later arrivals (retries) pass at once. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived += 1;
    if (arrived >= parties) release();
    return all;
  };
}

function upload(id: string): UploadRecord {
  const at = new Date(1_700_000_000_000);
  return { id, repository: "team/app", algorithm: "sha256", size: 0, parts: [], createdAt: at, updatedAt: at };
}

function blob(name: string, size: number, replica: string): BlobRecord {
  return {
    digest: digestOf(name),
    size,
    parts: [{ path: `blobs/${replica}/${name}`, size }],
    createdAt: new Date(1_700_000_000_000),
  };
}

describe("postgres metadata store: two replicas", () => {
  let a: MetadataStore;
  let b: MetadataStore;
  let schemaUrl: string;

  beforeEach(async () => {
    if (!database) throw new Error("the test database was not created");
    const { url } = await database.freshSchema();
    schemaUrl = url;
    // Opened at once, as replicas starting together: the migration runs once.
    [a, b] = await Promise.all([
      openPostgresStore({ url, maxConnections: 3 }),
      openPostgresStore({ url, maxConnections: 3 }),
    ]);
  });

  afterEach(async () => {
    await within(10_000, "closing the stores", Promise.all([a.close(), b.close()]));
  });

  it("lets one of two appends at the same offset of a session win", async () => {
    await a.uploads.create(upload("u1"));
    const arrive = barrier(2);
    const append = (store: MetadataStore, replica: string) =>
      store.transaction(async (tx) => {
        // Both have seen the session at size 0 before either appends.
        expect((await tx.uploads.get("u1"))?.size).toBeDefined();
        await arrive();
        return tx.uploads.appendPart("u1", 0, { path: `uploads/u1/${replica}`, size: 10 }, new Date());
      });
    const results = await within(20_000, "racing appends", Promise.all([append(a, "a"), append(b, "b")]));

    const winners = results.filter((result) => result !== undefined);
    expect(winners).toHaveLength(1);
    const session = await b.uploads.get("u1");
    expect(session?.size).toBe(10);
    expect(session?.parts).toEqual(winners[0]?.parts);
    expect(session?.parts).toHaveLength(1);
  });

  it("lets one of two single appends at the same offset win, every time", async () => {
    for (let round = 0; round < 20; round++) {
      const id = `u${round}`;
      await a.uploads.create(upload(id));
      const results = await Promise.all([
        a.uploads.appendPart(id, 0, { path: `uploads/${id}/a`, size: 10 }, new Date()),
        b.uploads.appendPart(id, 0, { path: `uploads/${id}/b`, size: 7 }, new Date()),
      ]);
      expect(
        results.filter((result) => result !== undefined),
        `round ${round}`,
      ).toHaveLength(1);
      const session = await a.uploads.get(id);
      expect(session?.parts, `round ${round}`).toHaveLength(1);
      expect(session?.size, `round ${round}`).toBe(session?.parts[0]?.size);
    }
  });

  it("keeps the first copy of a blob two replicas create at once, and tells the other", async () => {
    const arrive = barrier(2);
    const seen: boolean[] = [];
    const create = (store: MetadataStore, replica: string) =>
      store.transaction(async (tx) => {
        seen.push((await tx.blobs.get(digestOf("layer"))) !== undefined);
        await arrive();
        const outcome = await tx.blobs.create(blob("layer", 100, replica));
        await tx.blobs.link(`team/${replica}`, outcome.record.digest);
        return outcome;
      });
    const [fromA, fromB] = await within(20_000, "racing creates", Promise.all([create(a, "a"), create(b, "b")]));

    expect([fromA.created, fromB.created].sort()).toEqual([false, true]);
    // Both report the copy that was kept; the loser deletes the parts it wrote.
    expect(fromA.record).toEqual(fromB.record);
    expect(await a.blobs.get(digestOf("layer"))).toEqual(fromA.record);
    expect(await b.blobs.repositoriesOf(digestOf("layer"))).toEqual(["team/a", "team/b"]);
    // Both saw no blob, then a transaction failed to serialize and ran again, finding it. (Under
    // load PostgreSQL may cancel both once; what counts is that the outcome is a serial one.)
    expect(seen.slice(0, 2)).toEqual([false, false]);
    expect(seen.slice(2)).toContain(true);
  });

  it("keeps single creates of one blob by two replicas to one record", async () => {
    for (let round = 0; round < 20; round++) {
      const outcomes = await Promise.all([
        a.blobs.create(blob(`single-${round}`, 5, "a")),
        b.blobs.create(blob(`single-${round}`, 5, "b")),
      ]);
      expect(outcomes.map((o) => o.created).sort(), `round ${round}`).toEqual([false, true]);
      expect(outcomes[0]?.record, `round ${round}`).toEqual(outcomes[1]?.record);
    }
  });

  it("does not let two replicas push a project over its quota together", async () => {
    const owner = await a.users.create(
      { username: "owner", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
      new Date(),
    );
    await a.projects.create({ name: "team", ownerId: owner.id, metadata: {}, storageLimit: 150 }, new Date());
    const arrive = barrier(2);
    let runs = 0;
    // What BlobStore.commit does: the quota check, the record and the link, in one transaction.
    const push = (store: MetadataStore, repository: string, layer: BlobRecord) =>
      store.transaction(async (tx) => {
        runs += 1;
        await checkQuota(tx, repository, layer.digest, layer.size);
        await arrive();
        await tx.blobs.create(layer);
        await tx.blobs.link(repository, layer.digest);
      });
    const outcomes = await within(
      20_000,
      "racing pushes",
      Promise.allSettled([
        push(a, "team/one", blob("layer-one", 100, "a")),
        push(b, "team/two", blob("layer-two", 100, "b")),
      ]),
    );

    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(refused).toHaveLength(1);
    const reason: unknown = refused[0]?.status === "rejected" ? refused[0].reason : undefined;
    expect(reason).toBeInstanceOf(RegistryError);
    expect((reason as RegistryError).code).toBe("DENIED");
    expect(await a.projects.storageUsed("team")).toBe(100);
    expect(await b.projects.storageUsed("team")).toBe(100);
    // Both checked the quota before either linked: the loser ran again, and then saw the usage.
    expect(runs).toBeGreaterThanOrEqual(3);
  });

  it("makes one administrator account when two replicas start at the same moment", async () => {
    const arrive = barrier(2);
    // Both look the account up before either creates it.
    const starting = (store: MetadataStore, hash: string) =>
      ensureAdminAccount(
        {
          users: {
            ...store.users,
            getByName: async (name) => {
              const found = await store.users.getByName(name);
              await arrive();
              return found;
            },
          },
        },
        "admin",
        hash,
      );
    const ids = await within(20_000, "racing starts", Promise.all([starting(a, "hash-a"), starting(b, "hash-b")]));
    expect(ids[0]).toBe(ids[1]);
    const admins = await a.users.list({ username: "admin" }, { offset: 0, limit: 10 });
    expect(admins.total).toBe(1);
    expect(admins.items[0]?.sysadmin).toBe(true);
  });

  it("tags one manifest from many pushes on both replicas at once, none failing its push", async () => {
    // What `crane tag`/the benchmark do: the same manifest PUT by many tags at once. Each push
    // rewrites the manifest's row and adds its tag; under SERIALIZABLE most of them conflict, and
    // every one must get through on its retries rather than answer 500.
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, tagged: true }));
    const record = {
      repository: "team/app",
      digest: digestOf("tagged manifest"),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: content.length,
      createdAt: new Date(1_700_000_000_000),
    };
    // Two more replicas: four writing at once.
    const more = await Promise.all([
      openPostgresStore({ url: schemaUrl, maxConnections: 3 }),
      openPostgresStore({ url: schemaUrl, maxConnections: 3 }),
    ]);
    const replicas = [a, b, ...more];
    const pushes = Array.from({ length: 32 }, (_, i) =>
      (replicas[i % replicas.length] as MetadataStore).transaction(async (tx) => {
        await tx.manifests.put({ ...record, createdAt: new Date(1_700_000_000_000 + i) }, content, {
          blobs: [],
          manifests: [],
        });
        await tx.tags.put("team/app", `v${i}`, record.digest, new Date(1_700_000_000_000 + i));
      }),
    );
    const outcomes = await within(60_000, "racing tag pushes", Promise.allSettled(pushes));
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => String(o.reason))).toEqual([]);
    expect(await a.tags.list("team/app", {})).toHaveLength(32);
    await Promise.all(more.map((store) => store.close()));
  });

  it("shows each replica's commits to the other at once", async () => {
    await a.uploads.create(upload("seen"));
    expect(await b.uploads.get("seen")).toEqual(upload("seen"));
    await b.uploads.delete("seen");
    expect(await a.uploads.get("seen")).toBeUndefined();
  });
});
