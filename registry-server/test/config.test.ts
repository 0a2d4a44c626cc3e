import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConfigError,
  overridesFromEnvironment,
  parseFileConfig,
  readConfigFile,
  resolveConfig,
} from "../src/config.ts";
import { tempDir, writeFile } from "./helpers.ts";

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

describe("server configuration", () => {
  const dirs: Array<() => void> = [];
  afterEach(() => dirs.splice(0).forEach((remove) => remove()));

  it("merges file, environment and flags, later ones winning, and resolves paths against the file", () => {
    const file = parseFileConfig(
      {
        http: { addr: "127.0.0.1:6000" },
        dataDir: "data",
        auth: { admin: { passwordHash: HASH } },
        log: { level: "warn" },
      },
      "test.yaml",
    );
    const config = resolveConfig(
      file,
      {
        ...overridesFromEnvironment({ AIRLOCK_ADDR: "127.0.0.1:7000", AIRLOCK_LOG_LEVEL: "debug" }),
        addr: "[::1]:8000",
      },
      "/etc/airlock",
    );
    expect(config.addr).toEqual({ host: "::1", port: 8000 });
    expect(config.dataDir).toBe("/etc/airlock/data");
    expect(config.logLevel).toBe("debug");
    expect(config.admin).toEqual({ username: "admin", passwordHash: HASH });
    expect(config.tls).toBeUndefined();
    expect(config.shutdownTimeoutMs).toBe(30_000);
  });

  it("takes workers from the file, AIRLOCK_WORKERS or --workers; the CPU count by default", () => {
    const base = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };
    expect(resolveConfig(parseFileConfig(base, "f"), {}, "/").workers).toBe(availableParallelism());
    const file = parseFileConfig({ ...base, workers: 3 }, "f");
    expect(resolveConfig(file, {}, "/").workers).toBe(3);
    expect(resolveConfig(file, overridesFromEnvironment({ AIRLOCK_WORKERS: "1" }), "/").workers).toBe(1);
    expect(
      resolveConfig(file, { ...overridesFromEnvironment({ AIRLOCK_WORKERS: "1" }), workers: "4" }, "/").workers,
    ).toBe(4);
    expect(() => parseFileConfig({ ...base, workers: 0 }, "f")).toThrow(/workers: .*\(got 0\)/);
    expect(() => parseFileConfig({ ...base, workers: 1000 }, "f")).toThrow(/workers: .*\(got 1000\)/);
    expect(() => resolveConfig(file, { workers: "all" }, "/")).toThrow(/workers: .*\(got "all"\)/);
  });

  it("takes the job system's lease from the file, 30 seconds by default", () => {
    const base = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };
    expect(resolveConfig(parseFileConfig(base, "f"), {}, "/").jobs).toEqual({ leaseSeconds: 30 });
    expect(resolveConfig(parseFileConfig({ ...base, jobs: { leaseSeconds: 10 } }, "f"), {}, "/").jobs).toEqual({
      leaseSeconds: 10,
    });
    expect(() => parseFileConfig({ ...base, jobs: { leaseSeconds: 1 } }, "f")).toThrow(
      /jobs\.leaseSeconds: .*\(got 1\)/,
    );
    expect(() => parseFileConfig({ ...base, jobs: { lease: 10 } }, "f")).toThrow(/unknown key\(s\) lease/);
  });

  it("refuses plain HTTP off loopback", () => {
    const file = parseFileConfig({ dataDir: "/d", auth: { admin: { passwordHash: HASH } } }, "f");
    expect(() => resolveConfig(file, { addr: "0.0.0.0:5443" }, "/")).toThrow(/not a loopback address and no TLS/);
    expect(() => resolveConfig(file, { addr: ":5443" }, "/")).toThrow(ConfigError);
    const withTls = resolveConfig(file, { addr: "0.0.0.0:5443", tlsCert: "c.pem", tlsKey: "k.pem" }, "/srv");
    expect(withTls.tls).toEqual({ certFile: "/srv/c.pem", keyFile: "/srv/k.pem" });
  });

  it("has no default admin password", () => {
    const file = parseFileConfig({ dataDir: "/d" }, "f");
    expect(() => resolveConfig(file, {}, "/")).toThrow(/no admin password/);
    expect(resolveConfig(file, { adminPassword: "from-env" }, "/").admin.password).toBe("from-env");
  });

  it("needs a data directory", () => {
    const file = parseFileConfig({ auth: { admin: { passwordHash: HASH } } }, "f");
    expect(() => resolveConfig(file, {}, "/")).toThrow(/no data directory/);
  });

  it("names the file, the key, the value and what was expected", () => {
    expect(() => parseFileConfig({ http: { addr: "localhost" } }, "/etc/airlock.yaml")).toThrow(
      /invalid configuration in \/etc\/airlock\.yaml:\n {2}http\.addr: expected "host:port".*\(got "localhost"\)/,
    );
    expect(() => parseFileConfig({ http: { addr: "127.0.0.1:99999" } }, "f")).toThrow(/port must be at most 65535/);
    expect(() => parseFileConfig({ log: { level: "loud" } }, "f")).toThrow(/log\.level: .*\(got "loud"\)/);
    expect(() => parseFileConfig({ auth: { admin: { passwordHash: "plain" } } }, "f")).toThrow(/hash-password/);
    expect(() => parseFileConfig({ dataDri: "/x" }, "f")).toThrow(/unknown key\(s\) dataDri/);
  });

  it("reports where a half-given TLS pair comes from", () => {
    const file = parseFileConfig({ dataDir: "/d", auth: { admin: { passwordHash: HASH } } }, "f");
    expect(() => resolveConfig(file, { tlsCert: "c.pem" }, "/")).toThrow(
      /the command line and environment:\n {2}http\.tls\.keyFile: .*\(got nothing\)/,
    );
  });

  it("reads YAML files and reports unreadable or malformed ones", () => {
    const tmp = tempDir("config");
    dirs.push(tmp.remove);
    const good = writeFile(tmp.dir, "good.yaml", `http:\n  addr: "127.0.0.1:5000"\ndataDir: /var/lib/airlock\n`);
    expect(readConfigFile(good).http.addr).toBe("127.0.0.1:5000");
    const bad = writeFile(tmp.dir, "bad.yaml", "http: [unclosed\n");
    expect(() => readConfigFile(bad)).toThrow(/bad\.yaml is not valid YAML/);
    expect(() => readConfigFile(`${tmp.dir}/missing.yaml`)).toThrow(/cannot read configuration file/);
  });
});
