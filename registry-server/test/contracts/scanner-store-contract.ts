// The behaviour every metadata store backend must have in its scanners area (Harbor's scanner
// registrations), as one vitest suite each backend's test file calls with a way to open a fresh,
// empty store. Semantics come from the doc comments in src/metadata/scanner-store.ts.

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/metadata/identity-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { NewScannerRegistration } from "../../src/metadata/scanner-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const ALL = { offset: 0, limit: 100 };

function registration(name: string, overrides: Partial<NewScannerRegistration> = {}): NewScannerRegistration {
  return {
    uuid: randomUUID(),
    name,
    description: `${name} adapter`,
    url: `http://${name}.example:8080`,
    disabled: false,
    auth: "Bearer",
    sealedCredential: `sealed:${name}`,
    skipCertVerify: false,
    useInternalAddr: false,
    immutable: false,
    ...overrides,
  };
}

export function scannerStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`scanner store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    it("creates a registration and reads it back by uuid and by url", async () => {
      const given = registration("trivy", { skipCertVerify: true, useInternalAddr: true });
      const made = await store.scanners.create(given, "never", at(0));
      expect(made).toEqual({ ...given, isDefault: false, createdAt: at(0), updatedAt: at(0) });
      expect(await store.scanners.get(given.uuid)).toEqual(made);
      expect(await store.scanners.getByUrl(given.url)).toEqual(made);
      expect(await store.scanners.get(randomUUID())).toBeUndefined();
      expect(await store.scanners.getByUrl("http://other.example")).toBeUndefined();
    });

    it("keeps a registration without authentication without a credential", async () => {
      const made = await store.scanners.create(
        registration("open", { auth: "", sealedCredential: undefined, immutable: true }),
        "never",
        at(0),
      );
      expect(made.sealedCredential).toBeUndefined();
      expect(made.auth).toBe("");
      expect(made.immutable).toBe(true);
      // The schema refuses a credential without a scheme, and a scheme without a credential.
      await expect(
        store.scanners.create(registration("half", { auth: "", sealedCredential: "x" }), "never", at(0)),
      ).rejects.toThrow();
      await expect(
        store.scanners.create(registration("half", { auth: "Basic", sealedCredential: undefined }), "never", at(0)),
      ).rejects.toThrow();
    });

    it("refuses a taken name or URL, on create and on update, as a conflict", async () => {
      await store.scanners.create(registration("a"), "never", at(0));
      const b = await store.scanners.create(registration("b"), "never", at(0));
      await expect(
        store.scanners.create(registration("a", { url: "http://new.example" }), "never", at(1)),
      ).rejects.toThrow(ConflictError);
      await expect(
        store.scanners.create(registration("c", { url: "http://a.example:8080" }), "never", at(1)),
      ).rejects.toThrow(/url/);
      await expect(store.scanners.update(b.uuid, { name: "a" }, at(2))).rejects.toBeInstanceOf(ConflictError);
      await expect(store.scanners.update(b.uuid, { url: "http://a.example:8080" }, at(2))).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect((await store.scanners.get(b.uuid))?.name).toBe("b");
    });

    it("makes the first registration the default under if-first, and only the first", async () => {
      const first = await store.scanners.create(registration("first"), "if-first", at(0));
      const second = await store.scanners.create(registration("second"), "if-first", at(1));
      expect(first.isDefault).toBe(true);
      expect(second.isDefault).toBe(false);
      expect((await store.scanners.getDefault())?.uuid).toBe(first.uuid);
    });

    it("makes a registration the default under if-no-default only when none is", async () => {
      const plain = await store.scanners.create(registration("plain"), "never", at(0));
      const builtin = await store.scanners.create(registration("builtin"), "if-no-default", at(1));
      const late = await store.scanners.create(registration("late"), "if-no-default", at(2));
      expect(plain.isDefault).toBe(false);
      expect(builtin.isDefault).toBe(true);
      expect(late.isDefault).toBe(false);
    });

    it("moves the default in one step, never to a disabled registration", async () => {
      const a = await store.scanners.create(registration("a"), "if-first", at(0));
      const b = await store.scanners.create(registration("b"), "never", at(1));
      const off = await store.scanners.create(registration("off", { disabled: true }), "never", at(2));
      expect(await store.scanners.setDefault(b.uuid)).toBe("done");
      expect((await store.scanners.getDefault())?.uuid).toBe(b.uuid);
      expect((await store.scanners.get(a.uuid))?.isDefault).toBe(false);
      expect(await store.scanners.setDefault(b.uuid)).toBe("done");
      expect(await store.scanners.setDefault(off.uuid)).toBe("disabled");
      expect(await store.scanners.setDefault(randomUUID())).toBe("missing");
      expect((await store.scanners.getDefault())?.uuid).toBe(b.uuid);
      // The default cannot be disabled: the schema refuses it.
      await expect(store.scanners.update(b.uuid, { disabled: true }, at(3))).rejects.toThrow();
      expect((await store.scanners.get(b.uuid))?.disabled).toBe(false);
    });

    it("lists the default first, then the newest, with filters and the total", async () => {
      const old = await store.scanners.create(
        registration("old-clair", { description: "Clair adapter" }),
        "never",
        at(0),
      );
      const mid = await store.scanners.create(registration("mid-trivy"), "never", at(1));
      const recent = await store.scanners.create(registration("new-trivy"), "never", at(2));
      await store.scanners.setDefault(old.uuid);
      const all = await store.scanners.list({}, ALL);
      expect(all.total).toBe(3);
      expect(all.items.map((r) => r.uuid)).toEqual([old.uuid, recent.uuid, mid.uuid]);
      expect(await store.scanners.list({}, { offset: 1, limit: 1 })).toEqual({ items: [all.items[1]], total: 3 });
      const trivy = await store.scanners.list({ name: { value: "TRIVY", fuzzy: true } }, ALL);
      expect(trivy.items.map((r) => r.name)).toEqual(["new-trivy", "mid-trivy"]);
      expect((await store.scanners.list({ name: { value: "trivy", fuzzy: false } }, ALL)).total).toBe(0);
      expect((await store.scanners.list({ name: { value: "mid-trivy", fuzzy: false } }, ALL)).items).toEqual([
        { ...mid },
      ]);
      expect((await store.scanners.list({ description: { value: "clair", fuzzy: true } }, ALL)).total).toBe(1);
      expect((await store.scanners.list({ url: { value: "new-trivy.example", fuzzy: true } }, ALL)).total).toBe(1);
    });

    it("updates the fields given, keeps the others, and moves only the update time", async () => {
      const made = await store.scanners.create(registration("edit"), "never", at(0));
      const updated = await store.scanners.update(
        made.uuid,
        { description: "changed", disabled: true, skipCertVerify: true, auth: "", sealedCredential: null },
        at(5),
      );
      expect(updated).toEqual({
        ...made,
        description: "changed",
        disabled: true,
        skipCertVerify: true,
        auth: "",
        sealedCredential: undefined,
        updatedAt: at(5),
      });
      const keyed = await store.scanners.update(
        made.uuid,
        { auth: "X-ScannerAdapter-API-Key", sealedCredential: "sealed:key" },
        at(6),
      );
      expect(keyed).toMatchObject({ auth: "X-ScannerAdapter-API-Key", sealedCredential: "sealed:key", disabled: true });
      expect(await store.scanners.update(randomUUID(), { name: "x" }, at(7))).toBeUndefined();
    });

    it("deletes a registration, default or not", async () => {
      const made = await store.scanners.create(registration("gone"), "if-first", at(0));
      expect(await store.scanners.delete(made.uuid)).toBe(true);
      expect(await store.scanners.delete(made.uuid)).toBe(false);
      expect(await store.scanners.get(made.uuid)).toBeUndefined();
      expect(await store.scanners.getDefault()).toBeUndefined();
      // Its name and URL are free again.
      expect((await store.scanners.create(registration("gone"), "if-first", at(1))).isDefault).toBe(true);
    });

    it("works through a transaction's areas, committed together", async () => {
      const uuid = await store.transaction(async (tx) => {
        const made = await tx.scanners.create(registration("tx"), "if-no-default", at(0));
        expect((await tx.scanners.getDefault())?.uuid).toBe(made.uuid);
        return made.uuid;
      });
      expect((await store.scanners.get(uuid))?.isDefault).toBe(true);
      await expect(
        store.transaction(async (tx) => {
          await tx.scanners.create(registration("rolled-back"), "never", at(1));
          throw new Error("abandon");
        }),
      ).rejects.toThrow("abandon");
      expect((await store.scanners.list({}, ALL)).total).toBe(1);
    });
  });
}
