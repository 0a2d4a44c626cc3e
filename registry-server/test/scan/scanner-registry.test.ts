// The scanner registry service the scan jobs use, over a real store of each backend: the built-in
// scanner registered once whatever the restarts and replicas, the registration a project's scans
// go to (its choice, else the default, never a disabled one), and the adapter for a registration
// (the built-in one in-process, an HTTP client otherwise).

import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SecretBox } from "../../src/auth/secret-box.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openPostgresStore } from "../../src/metadata/postgres/store.ts";
import type { NewScannerRegistration } from "../../src/metadata/scanner-store.ts";
import { openSqliteStore } from "../../src/metadata/sqlite/store.ts";
import { HttpScannerAdapter } from "../../src/scan/http-scanner-adapter.ts";
import type { ScannerAdapter } from "../../src/scan/scanner-adapter.ts";
import { PROJECT_SCANNER_KEY, ScannerRegistry } from "../../src/scan/scanner-registry.ts";
import { createTestDatabase, within, type TestDatabase } from "../metadata/postgres-database.ts";

const TRIVY = { name: "Trivy", url: "builtin://trivy", description: "The built-in Trivy scanner" };
const BUILTIN: ScannerAdapter = {
  metadata: () => Promise.reject(new Error("not in this test")),
  scan: () => Promise.reject(new Error("not in this test")),
  report: () => Promise.reject(new Error("not in this test")),
};

function external(name: string, overrides: Partial<NewScannerRegistration> = {}): NewScannerRegistration {
  return {
    uuid: randomUUID(),
    name,
    description: "",
    url: `http://${name}.example:8080`,
    disabled: false,
    auth: "",
    skipCertVerify: false,
    useInternalAddr: false,
    immutable: false,
    ...overrides,
  };
}

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(async () => {
  await database?.drop();
}, 60_000);

const backends: Array<[string, () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>]> = [
  [
    "sqlite",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "airlock-scanners-"));
      const store = await openSqliteStore(path.join(dir, "metadata.db"));
      return {
        store,
        cleanup: async () => {
          await within(5_000, "closing the store", store.close());
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    "postgres",
    async () => {
      if (!database) throw new Error("the test database was not created");
      const { url } = await database.freshSchema();
      const store = await openPostgresStore({ url, maxConnections: 4 });
      return { store, cleanup: () => within(5_000, "closing the store", store.close()) };
    },
  ],
];

describe.each(backends)("scanner registry (%s)", (_, open) => {
  let store: MetadataStore;
  let cleanup: (() => Promise<void>) | undefined;
  const registries: ScannerRegistry[] = [];
  const box = new SecretBox(randomBytes(32));

  async function fresh(): Promise<ScannerRegistry> {
    if (!cleanup) ({ store, cleanup } = await open());
    const registry = new ScannerRegistry({
      store,
      box,
      egress: { timeoutMs: 2_000 },
      builtins: new Map([[TRIVY.url, BUILTIN]]),
    });
    registries.push(registry);
    return registry;
  }

  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
    await cleanup?.();
    cleanup = undefined;
  });

  it("registers the built-in scanner once, as the default, however many replicas start", async () => {
    const replicas = [await fresh(), await fresh(), await fresh()];
    const made = await Promise.all(replicas.map((r) => r.ensureBuiltin(TRIVY)));
    expect(new Set(made.map((r) => r.uuid)).size).toBe(1);
    // A restart finds it and changes nothing but an updated description.
    const again = await (await fresh()).ensureBuiltin({ ...TRIVY, description: "Trivy, now newer" });
    expect(again).toMatchObject({
      uuid: made[0]?.uuid,
      isDefault: true,
      immutable: true,
      description: "Trivy, now newer",
    });
    const all = await store.scanners.list({}, { offset: 0, limit: 10 });
    expect(all.total).toBe(1);
  });

  it("leaves the default to a registration that already is, and takes it when none is", async () => {
    const registry = await fresh();
    const chosen = await store.scanners.create(external("chosen"), "if-first", new Date());
    const trivy = await registry.ensureBuiltin(TRIVY);
    expect(trivy.isDefault).toBe(false);
    expect((await store.scanners.getDefault())?.uuid).toBe(chosen.uuid);
    await store.scanners.delete(chosen.uuid);
    // Next start: no default any more, the built-in one takes it.
    expect((await registry.ensureBuiltin(TRIVY)).isDefault).toBe(true);
  });

  it("refuses a built-in scanner whose name a user's registration took", async () => {
    const registry = await fresh();
    await store.scanners.create(external("Trivy"), "never", new Date());
    await expect(registry.ensureBuiltin(TRIVY)).rejects.toThrow(/another registration has its name/);
    await expect(registry.ensureBuiltin({ ...TRIVY, url: "http://not-builtin" })).rejects.toThrow(/builtin:/);
  });

  it("sends a project's scans to its choice, else the default, never to a disabled registration", async () => {
    const registry = await fresh();
    const owner = await store.users.create(
      { username: "owner", email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
      new Date(),
    );
    const project = await store.projects.create(
      { name: "app", ownerId: owner.id, metadata: {}, storageLimit: -1 },
      new Date(),
    );
    expect(await registry.registrationFor(project.id)).toBeUndefined();
    const fallback = await store.scanners.create(external("fallback"), "if-first", new Date());
    const chosen = await store.scanners.create(external("chosen"), "never", new Date());
    expect((await registry.registrationFor(project.id))?.uuid).toBe(fallback.uuid);
    await store.projects.update(project.id, { metadata: { [PROJECT_SCANNER_KEY]: chosen.uuid } }, new Date());
    expect((await registry.registrationFor(project.id))?.uuid).toBe(chosen.uuid);
    await store.scanners.update(chosen.uuid, { disabled: true }, new Date());
    expect((await registry.registrationFor(project.id))?.uuid).toBe(fallback.uuid);
    // The API and the scan service still see the project's choice, disabled as it is.
    expect((await registry.projectRegistration(project.id))?.uuid).toBe(chosen.uuid);
    expect((await registry.forProject(project.id))?.registration).toMatchObject({ uuid: chosen.uuid, disabled: true });
    await store.scanners.delete(chosen.uuid);
    expect((await registry.registrationFor(project.id))?.uuid).toBe(fallback.uuid);
    expect(await registry.registrationFor(project.id + 1000)).toBeUndefined();
  });

  it("gives the built-in adapter in-process and one HTTP client per version of a registration", async () => {
    const registry = await fresh();
    const trivy = await registry.ensureBuiltin(TRIVY);
    expect(registry.adapterFor(trivy)).toBe(BUILTIN);
    expect(() => registry.adapterFor({ ...trivy, url: "builtin://other" })).toThrow(/not available/);
    const remote = await store.scanners.create(
      external("remote", { auth: "Bearer", sealedCredential: registry.sealCredential("token") }),
      "never",
      new Date(),
    );
    const client = registry.adapterFor(remote);
    expect(client).toBeInstanceOf(HttpScannerAdapter);
    expect(registry.adapterFor(remote)).toBe(client);
    expect(registry.openCredential(remote)).toBe("token");
    // The scan service's resolver: a registration by UUID with its adapter.
    expect(await registry.byUuid(remote.uuid)).toEqual({ registration: remote, adapter: client });
    expect(await registry.byUuid(randomUUID())).toBeUndefined();
    const missing = await store.scanners.create(
      external("gone-builtin", { url: "builtin://gone" }),
      "never",
      new Date(),
    );
    await expect((await registry.byUuid(missing.uuid))?.adapter.metadata()).rejects.toThrow(/not available/);
    expect(remote.sealedCredential).not.toContain("token");
    const changed = await store.scanners.update(remote.uuid, { description: "changed" }, new Date(Date.now() + 1_000));
    expect(changed && registry.adapterFor(changed)).not.toBe(client);
  });
});
