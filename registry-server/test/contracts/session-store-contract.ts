// The behaviour every metadata store backend must have in its sessions area (the portal's
// sign-in sessions), as one vitest suite each backend's test file calls with a way to open a
// fresh, empty store. Semantics come from the doc comments in src/metadata/session-store.ts.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { openEachTest, type ContractStore } from "./metadata-store-contract.ts";

/** A fixed time with milliseconds, so that a store keeping only seconds fails. */
const T0 = Date.parse("2024-05-06T07:08:09.123Z");
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
const HOUR = 3_600_000;

const hashOf = (name: string): string => createHash("sha256").update(name).digest("hex");

export function sessionStoreContract(name: string, setup: () => Promise<ContractStore>): void {
  describe(`session store contract: ${name}`, () => {
    let store!: MetadataStore;
    openEachTest(setup, (opened) => (store = opened));

    async function user(username: string): Promise<number> {
      const made = await store.users.create(
        { username, email: "", realname: "", comment: "", passwordHash: "h", sysadmin: false },
        at(0),
      );
      return made.id;
    }

    async function open(idName: string, userId: number, createdMs: number, lifetimeMs = 12 * HOUR): Promise<void> {
      await store.sessions.create(
        { idHash: hashOf(idName), userId, createdAt: at(createdMs), expiresAt: at(createdMs + lifetimeMs) },
        50,
      );
    }

    it("records a session and reads it back by its hash, last seen at its creation", async () => {
      const alice = await user("alice");
      await open("s1", alice, 0);
      expect(await store.sessions.get(hashOf("s1"))).toEqual({
        idHash: hashOf("s1"),
        userId: alice,
        createdAt: at(0),
        lastSeenAt: at(0),
        expiresAt: at(12 * HOUR),
      });
      expect(await store.sessions.get(hashOf("s2"))).toBeUndefined();
    });

    it("refuses a session of a user that does not exist", async () => {
      await expect(open("ghost", 12345, 0)).rejects.toThrow();
      expect(await store.sessions.get(hashOf("ghost"))).toBeUndefined();
    });

    it("moves the last-seen time forward, never back, and says when the session is gone", async () => {
      const alice = await user("alice");
      await open("s1", alice, 0);
      expect(await store.sessions.touch(hashOf("s1"), at(90_000))).toBe(true);
      expect((await store.sessions.get(hashOf("s1")))?.lastSeenAt).toEqual(at(90_000));
      expect(await store.sessions.touch(hashOf("s1"), at(30_000))).toBe(true);
      expect((await store.sessions.get(hashOf("s1")))?.lastSeenAt).toEqual(at(90_000));
      expect(await store.sessions.touch(hashOf("none"), at(1))).toBe(false);
    });

    it("deletes one session", async () => {
      const alice = await user("alice");
      await open("s1", alice, 0);
      await open("s2", alice, 1);
      expect(await store.sessions.delete(hashOf("s1"))).toBe(true);
      expect(await store.sessions.delete(hashOf("s1"))).toBe(false);
      expect(await store.sessions.get(hashOf("s1"))).toBeUndefined();
      expect(await store.sessions.get(hashOf("s2"))).toBeDefined();
    });

    it("deletes a user's sessions but the one kept, leaving other users' alone", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      for (const id of ["a1", "a2", "a3"]) await open(id, alice, 0);
      await open("b1", bob, 0);
      expect(await store.sessions.deleteForUser(alice, hashOf("a2"))).toBe(2);
      expect(await store.sessions.get(hashOf("a1"))).toBeUndefined();
      expect(await store.sessions.get(hashOf("a2"))).toBeDefined();
      expect(await store.sessions.deleteForUser(alice)).toBe(1);
      expect(await store.sessions.get(hashOf("a2"))).toBeUndefined();
      expect(await store.sessions.get(hashOf("b1"))).toBeDefined();
    });

    it("keeps each user's newest sessions only, up to the bound", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      await open("b-old", bob, -1_000);
      for (let i = 0; i < 5; i++) {
        await store.sessions.create(
          { idHash: hashOf(`a${i}`), userId: alice, createdAt: at(i * 1_000), expiresAt: at(HOUR) },
          3,
        );
      }
      const kept = await Promise.all(
        [0, 1, 2, 3, 4].map(async (i) => (await store.sessions.get(hashOf(`a${i}`))) !== undefined),
      );
      expect(kept).toEqual([false, false, true, true, true]);
      expect(await store.sessions.get(hashOf("b-old"))).toBeDefined();
    });

    it("purges the sessions ended or idle, and only those", async () => {
      const alice = await user("alice");
      await open("ended", alice, 0, HOUR);
      await open("idle", alice, 0);
      await open("active", alice, 0);
      await store.sessions.touch(hashOf("active"), at(2 * HOUR));
      // At 2 h: "ended" ended at 1 h; "idle" was last seen at 0, before the idle bound of 1 h.
      expect(await store.sessions.purge(at(2 * HOUR), at(HOUR))).toBe(2);
      expect(await store.sessions.get(hashOf("ended"))).toBeUndefined();
      expect(await store.sessions.get(hashOf("idle"))).toBeUndefined();
      expect(await store.sessions.get(hashOf("active"))).toBeDefined();
      expect(await store.sessions.purge(at(2 * HOUR), at(HOUR))).toBe(0);
    });

    it("deletes a user's sessions with the user", async () => {
      const alice = await user("alice");
      await open("s1", alice, 0);
      expect(await store.users.delete(alice)).toBe(true);
      expect(await store.sessions.get(hashOf("s1"))).toBeUndefined();
    });
  });
}
