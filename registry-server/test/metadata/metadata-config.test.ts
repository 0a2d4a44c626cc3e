// The `metadata` section of the server configuration: SQLite unless `metadata.postgres` or
// AIRLOCK_DATABASE_URL says otherwise, the password in the URL or in a file, and never echoed.

import { describe, expect, it } from "vitest";
import { ConfigError, overridesFromEnvironment, parseFileConfig, resolveConfig } from "../../src/config.ts";

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const BASE = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };

function resolve(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return resolveConfig(
    parseFileConfig({ ...BASE, ...raw }, "test.yaml"),
    overridesFromEnvironment(env),
    "/etc/airlock",
  );
}

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("metadata configuration", () => {
  it("keeps SQLite under dataDir when nothing names a database", () => {
    expect(resolve({}).metadata).toBeUndefined();
    expect(resolve({ metadata: {} }).metadata).toBeUndefined();
  });

  it("takes metadata.postgres, with a default pool size and the password file resolved against the file", () => {
    expect(resolve({ metadata: { postgres: { url: "postgres://airlock@db:5432/airlock" } } }).metadata).toEqual({
      postgres: { url: "postgres://airlock@db:5432/airlock", maxConnections: 10 },
    });
    const config = resolve({
      metadata: {
        postgres: { url: "postgresql://airlock@db/airlock", passwordFile: "secrets/db", maxConnections: 20 },
      },
    });
    expect(config.metadata).toEqual({
      postgres: { url: "postgresql://airlock@db/airlock", passwordFile: "/etc/airlock/secrets/db", maxConnections: 20 },
    });
  });

  it("lets AIRLOCK_DATABASE_URL turn PostgreSQL on, or replace the file's URL keeping the rest", () => {
    const env = { AIRLOCK_DATABASE_URL: "postgres://env@db-env/airlock" };
    expect(resolve({}, env).metadata).toEqual({
      postgres: { url: "postgres://env@db-env/airlock", maxConnections: 10 },
    });
    const config = resolve(
      { metadata: { postgres: { url: "postgres://file@db/airlock", passwordFile: "pw", maxConnections: 3 } } },
      env,
    );
    expect(config.metadata).toEqual({
      postgres: { url: "postgres://env@db-env/airlock", passwordFile: "/etc/airlock/pw", maxConnections: 3 },
    });
  });

  it("refuses what is not a PostgreSQL URL, a pool of one, and unknown keys", () => {
    expect(errorOf(() => resolve({ metadata: { postgres: { url: "mysql://db/x" } } }))).toMatch(
      /metadata\.postgres\.url: expected a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(errorOf(() => resolve({ metadata: { postgres: { url: "postgres:///x" } } }))).toMatch(/with a host/);
    expect(errorOf(() => resolve({ metadata: { postgres: { url: "postgres://db/x", maxConnections: 1 } } }))).toMatch(
      /metadata\.postgres\.maxConnections/,
    );
    expect(errorOf(() => resolve({ metadata: { postgres: { url: "postgres://db/x", ssl: true } } }))).toMatch(
      /unknown key\(s\) ssl/,
    );
    expect(errorOf(() => resolve({ metadata: { sqlite: {} } }))).toMatch(/unknown key\(s\) sqlite/);
  });

  it("never echoes a password, from the URL or beside it", () => {
    const both = errorOf(() =>
      resolve({ metadata: { postgres: { url: "postgres://u:in-url-81@db/x", passwordFile: "/run/pw" } } }),
    );
    expect(both).toMatch(/set the password in the URL or in passwordFile, not both/);
    expect(both).not.toContain("in-url-81");
    // A URL refused for another reason is shown without its password.
    const invalid = errorOf(() => resolve({ metadata: { postgres: { url: "http://u:in-url-82@db/x" } } }));
    expect(invalid).toContain("*****@db");
    expect(invalid).not.toContain("in-url-82");
    const fromEnv = errorOf(() => resolve({}, { AIRLOCK_DATABASE_URL: "mysql://u:in-env-83@db/x" }));
    expect(fromEnv).not.toContain("in-env-83");
  });
});
