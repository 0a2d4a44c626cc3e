// How long a portal session lasts and what ends it, over HTTP against a real server whose session
// clock the test moves (no sleeping for an hour): the idle timeout (`session_timeout`, sliding,
// written at most once a minute), the 12-hour lifetime, a password change, the user's deletion,
// the bound per user; and what the database holds of a session (its hash, never its id).

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestRegistry, type TestRegistry } from "../helpers.ts";
import { HarborClient } from "../api/harbor-client.ts";
import { call, currentUser, signIn, type Session } from "./session-client.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface SessionRow {
  id_hash: string;
  user_id: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

describe("portal session lifetime", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let base: string;
  let now = Date.parse("2030-01-01T00:00:00.000Z");
  let users = 0;

  beforeAll(async () => {
    registry = await startTestRegistry({}, { sessionClock: () => now });
    base = registry.url;
    api = new HarborClient(base);
  });

  afterAll(async () => {
    await registry.stop();
  });

  /** A fresh local user, so that each test's sessions are its own. */
  async function newUser(): Promise<{ id: number; username: string; password: string }> {
    users += 1;
    const user = { username: `user${users}`, password: `Passw0rd-${users}` };
    return { ...user, id: await api.createUser(user.username, user.password) };
  }

  /** The session rows, read from the database file with a connection of the test's own. */
  function rows(): SessionRow[] {
    const db = new DatabaseSync(path.join(registry.dataDir, "metadata", "registry.db"), { readOnly: true });
    try {
      return db.prepare("SELECT * FROM sessions ORDER BY created_at").all() as unknown as SessionRow[];
    } finally {
      db.close();
    }
  }

  const hashOf = (session: Session): string => createHash("sha256").update(session.id).digest("hex");
  const rowOf = (session: Session): SessionRow | undefined => rows().find((row) => row.id_hash === hashOf(session));

  it("ends a session idle for session_timeout (60 minutes), sliding with use, written at most once a minute", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    const signedInAt = now;
    expect(rowOf(session)?.last_seen_at).toBe(signedInAt);

    now += 30_000;
    expect(await currentUser(base, session)).toBe(user.username);
    // Within the minute: nothing written.
    expect(rowOf(session)?.last_seen_at).toBe(signedInAt);

    now += 59 * MINUTE;
    expect(await currentUser(base, session)).toBe(user.username);
    expect(rowOf(session)?.last_seen_at).toBe(now);

    now += 59 * MINUTE;
    expect(await currentUser(base, session)).toBe(user.username);
    now += 60 * MINUTE;
    expect(await currentUser(base, session)).toBe(401);
    // Found idle, it was deleted there and then.
    expect(rowOf(session)).toBeUndefined();
  });

  it("follows a changed session_timeout", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    const set = await api.call("PUT", "/configurations", { body: { session_timeout: 5 } });
    expect(set.status, set.text).toBe(200);
    try {
      // The settings are cached for a moment: wait until the new value shows.
      now += 6 * MINUTE;
      let status: string | number = user.username;
      for (let attempt = 0; attempt < 50 && status !== 401; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await currentUser(base, session);
      }
      expect(status).toBe(401);
    } finally {
      expect((await api.call("PUT", "/configurations", { body: { session_timeout: 60 } })).status).toBe(200);
    }
  });

  it("ends a session 12 hours after sign-in, however busy", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    expect(rowOf(session)?.expires_at).toBe(now + 12 * HOUR);
    // 13 × 55 min = 11 h 55 min, never idle for more than 55 minutes.
    for (let step = 1; step <= 13; step++) {
      now += 55 * MINUTE;
      expect(await currentUser(base, session), `after step ${step}`).toBe(user.username);
    }
    // 12 h 1 min after sign-in, idle for 6 minutes only: over all the same.
    now += 6 * MINUTE;
    expect(await currentUser(base, session)).toBe(401);
  });

  it("ends a user's other sessions when their password changes, and all of them on an administrator's reset", async () => {
    const user = await newUser();
    const here = await signIn(base, user);
    const elsewhere = await signIn(base, user);
    const bystander = await signIn(base, await newUser());
    const newPassword = "New-Passw0rd-1";
    const changed = await call(base, "PUT", `/users/${user.id}/password`, {
      session: here,
      csrf: "session",
      body: { old_password: user.password, new_password: newPassword },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(await currentUser(base, elsewhere)).toBe(401);
    expect(await currentUser(base, here)).toBe(user.username);
    expect(await currentUser(base, bystander)).not.toBe(401);

    const reset = await api.call("PUT", `/users/${user.id}/password`, { body: { new_password: "Reset-Passw0rd-2" } });
    expect(reset.status, reset.text).toBe(200);
    expect(await currentUser(base, here)).toBe(401);
  });

  it("ends a deleted user's sessions with the user", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    expect((await api.call("DELETE", `/users/${user.id}`)).status).toBe(200);
    expect(await currentUser(base, session)).toBe(401);
    expect(rowOf(session)).toBeUndefined();
  });

  it("follows the administrator flag as it stands now", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    expect((await call(base, "GET", "/users", { session })).status).toBe(403);
    expect((await api.call("PUT", `/users/${user.id}/sysadmin`, { body: { sysadmin_flag: true } })).status).toBe(200);
    expect((await call(base, "GET", "/users", { session })).status).toBe(200);
  });

  it("keeps a user's newest 50 sessions: signing in again and again cannot fill the database", async () => {
    const user = await newUser();
    const sessions: Session[] = [];
    for (let i = 0; i < 52; i++) {
      now += 1;
      sessions.push(await signIn(base, user));
    }
    expect(rows().filter((row) => row.user_id === user.id)).toHaveLength(50);
    expect(await currentUser(base, sessions[0] as Session)).toBe(401);
    expect(await currentUser(base, sessions[1] as Session)).toBe(401);
    expect(await currentUser(base, sessions[2] as Session)).toBe(user.username);
    expect(await currentUser(base, sessions[51] as Session)).toBe(user.username);
  });

  it("purges ended sessions at the next sign-in", async () => {
    const user = await newUser();
    const stale = await signIn(base, user);
    now += 2 * HOUR;
    await signIn(base, ADMIN);
    expect(rowOf(stale)).toBeUndefined();
  });

  it("stores the session's hash, never its id, nor its CSRF token", async () => {
    const user = await newUser();
    const session = await signIn(base, user);
    const row = rowOf(session);
    expect(row).toEqual({
      id_hash: hashOf(session),
      user_id: user.id,
      created_at: now,
      last_seen_at: now,
      expires_at: now + 12 * HOUR,
    });
    // Nowhere in the database's files (the WAL included) do the id or the token appear.
    const metadataDir = path.join(registry.dataDir, "metadata");
    for (const file of readdirSync(metadataDir)) {
      const bytes = readFileSync(path.join(metadataDir, file));
      expect(bytes.includes(session.id), file).toBe(false);
      expect(bytes.includes(session.csrfToken), file).toBe(false);
      expect(bytes.includes(Buffer.from(session.id, "base64url")), file).toBe(false);
    }
    expect(rows().some((r) => r.id_hash === hashOf(session))).toBe(true);
  });
});
