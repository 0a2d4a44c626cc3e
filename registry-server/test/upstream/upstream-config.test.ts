// The server configuration's `upstream` section: defaults, the AIRLOCK_*_PROXY environment
// overrides, and refusals of what cannot work.

import { describe, expect, it } from "vitest";
import { overridesFromEnvironment, parseFileConfig, resolveConfig } from "../../src/config.ts";

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const BASE = { dataDir: "/d", auth: { admin: { passwordHash: HASH } } };

describe("upstream configuration", () => {
  it("defaults to direct egress, 30 s timeouts and a health check every 5 minutes", () => {
    const config = resolveConfig(parseFileConfig(BASE, "f"), {}, "/");
    expect(config.upstream).toEqual({ timeoutMs: 30_000, healthCheckIntervalMs: 300_000 });
  });

  it("reads the file's proxies, and lets the environment override them", () => {
    const file = parseFileConfig(
      {
        ...BASE,
        upstream: {
          httpProxy: "http://proxy.corp:3128",
          httpsProxy: "http://proxy.corp:3128",
          noProxy: ".corp,10.0.0.0/8",
          timeoutSeconds: 5,
          healthCheckIntervalSeconds: 60,
        },
      },
      "f",
    );
    expect(resolveConfig(file, {}, "/").upstream).toEqual({
      httpProxy: "http://proxy.corp:3128",
      httpsProxy: "http://proxy.corp:3128",
      noProxy: ".corp,10.0.0.0/8",
      timeoutMs: 5_000,
      healthCheckIntervalMs: 60_000,
    });
    const overridden = resolveConfig(
      file,
      overridesFromEnvironment({
        AIRLOCK_HTTPS_PROXY: "http://user:pass@egress.dmz:8080",
        AIRLOCK_NO_PROXY: "registry.internal",
      }),
      "/",
    );
    expect(overridden.upstream.httpsProxy).toBe("http://user:pass@egress.dmz:8080");
    expect(overridden.upstream.httpProxy).toBe("http://proxy.corp:3128");
    expect(overridden.upstream.noProxy).toBe("registry.internal");
  });

  it("refuses a proxy that is not an http(s) URL, impossible durations and unknown keys", () => {
    expect(() => parseFileConfig({ ...BASE, upstream: { httpsProxy: "socks5://proxy:1080" } }, "f")).toThrow(
      /upstream\.httpsProxy/,
    );
    expect(() => parseFileConfig({ ...BASE, upstream: { httpProxy: "proxy:3128" } }, "f")).toThrow(
      /upstream\.httpProxy/,
    );
    expect(() => parseFileConfig({ ...BASE, upstream: { timeoutSeconds: 0 } }, "f")).toThrow(
      /upstream\.timeoutSeconds/,
    );
    expect(() => parseFileConfig({ ...BASE, upstream: { healthCheckIntervalSeconds: 1 } }, "f")).toThrow(
      /healthCheckIntervalSeconds/,
    );
    expect(() => parseFileConfig({ ...BASE, upstream: { proxy: "http://x" } }, "f")).toThrow(/unknown key\(s\) proxy/);
    const file = parseFileConfig(BASE, "f");
    expect(() => resolveConfig(file, { httpProxy: "ftp://x" }, "/")).toThrow(/upstream\.httpProxy/);
  });
});
