// Portal sessions across replicas: two servers sharing one PostgreSQL database and the secret-box
// key (the second handed a copy of the first's key file, as the deployments do) know the same
// sessions and accept the same CSRF token; a third with a key of its own knows the session but
// refuses the token, which is why the key must be shared.

import { copyFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HarborClient } from "../api/harbor-client.ts";
import { startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { createTestDatabase, type TestDatabase } from "../metadata/postgres-database.ts";
import { call, currentUser, harborError, signIn } from "./session-client.ts";

const ALICE = { username: "alice", password: "Alice-Passw0rd" };

describe("portal sessions across replicas", () => {
  let database: TestDatabase | undefined;
  const registries: TestRegistry[] = [];
  const dirs: Array<{ remove: () => void }> = [];
  let first!: TestRegistry;
  let second!: TestRegistry;
  let stranger!: TestRegistry;

  beforeAll(async () => {
    database = await createTestDatabase();
    const { url } = await database.freshSchema();
    const metadata = { postgres: { url, maxConnections: 4 } };
    first = await startTestRegistry({ metadata });
    registries.push(first);
    const sharedDir = tempDir("replica");
    dirs.push(sharedDir);
    mkdirSync(path.join(sharedDir.dir, "auth"), { recursive: true, mode: 0o700 });
    copyFileSync(
      path.join(first.dataDir, "auth", "secret-box.key"),
      path.join(sharedDir.dir, "auth", "secret-box.key"),
    );
    second = await startTestRegistry({ metadata, dataDir: sharedDir.dir });
    registries.push(second);
    stranger = await startTestRegistry({ metadata });
    registries.push(stranger);
    await new HarborClient(first.url).createUser(ALICE.username, ALICE.password);
  }, 60_000);

  afterAll(async () => {
    for (const registry of registries) await registry.stop();
    for (const dir of dirs) dir.remove();
    await database?.drop(60_000);
  }, 90_000);

  it("signs in on one replica and works on the other, CSRF token included, until signed out on either", async () => {
    const session = await signIn(first.url, ALICE);
    const there = await call(second.url, "GET", "/users/current", { session });
    expect(there.status, there.text).toBe(200);
    expect(there.headers.get("x-harbor-csrf-token")).toBe(session.csrfToken);
    const made = await call(second.url, "POST", "/projects", {
      session,
      csrf: "session",
      body: { project_name: "from-the-portal", metadata: { public: "false" } },
    });
    expect(made.status, made.text).toBe(201);

    // A replica with a key of its own finds the session in the database but not its token.
    expect(await currentUser(stranger.url, session)).toBe("alice");
    const refused = await call(stranger.url, "DELETE", "/projects/from-the-portal", { session, csrf: "session" });
    expect(harborError(refused)).toEqual({ status: 403, code: "FORBIDDEN", message: "CSRF token invalid" });

    expect((await call(second.url, "GET", "/c/log_out", { session })).status).toBe(200);
    expect(await currentUser(first.url, session)).toBe(401);
  });
});
