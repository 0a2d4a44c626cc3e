// Egress and TLS against a second instance of our registry served over HTTPS with a certificate
// of its own: the CA trusted per endpoint, `insecure`, and every byte through a CONNECT proxy the
// test starts. The endpoint's host name exists only in the proxy's table, so a direct connection
// could not succeed; `noProxy` sends a listed host around the proxy.

import { readFileSync } from "node:fs";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createUpstreamFactory } from "../../src/upstream/upstream-factory.ts";
import type { EgressSettings, UpstreamEndpoint, UpstreamRegistry } from "../../src/upstream/upstream-registry.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { certificateFor, HIDDEN_HOST, startConnectProxy, type ConnectProxy } from "./test-servers.ts";
import { expectUpstreamError, readAll } from "./upstream-helpers.ts";

describe("egress proxy and TLS settings", () => {
  const work = tempDir("egress");
  let upstream: TestRegistry;
  let ca: string;
  let port: string;
  let proxy: ConnectProxy;
  let securedProxy: ConnectProxy;
  let manifestDigest: string;
  const adapters: UpstreamRegistry[] = [];

  function adapter(endpoint: Partial<UpstreamEndpoint>, egress: Partial<EgressSettings> = {}): UpstreamRegistry {
    const made = createUpstreamFactory({ timeoutMs: 5_000, ...egress })({
      id: 1,
      name: "tls-upstream",
      type: "docker-registry",
      url: upstream.url,
      insecure: false,
      credential: { type: "basic", accessKey: ADMIN.username, accessSecret: ADMIN.password },
      ...endpoint,
    });
    adapters.push(made);
    return made;
  }

  beforeAll(async () => {
    const tls = certificateFor(work.dir);
    ca = readFileSync(tls.certFile, "utf8");
    upstream = await startTestRegistry({ tls });
    port = new URL(upstream.url).port;
    manifestDigest = (await pushOverTls(upstream.url, ca)).digest;
    proxy = await startConnectProxy({ hosts: { [HIDDEN_HOST]: "127.0.0.1" } });
    securedProxy = await startConnectProxy({
      hosts: { [HIDDEN_HOST]: "127.0.0.1" },
      credentials: { username: "egress", password: "proxy-password" },
    });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await Promise.all([proxy?.stop(), securedProxy?.stop()]);
    await upstream?.stop();
    work.remove();
  });

  it("refuses an untrusted certificate, trusts the endpoint's CA, and skips checks when insecure", async () => {
    await expectUpstreamError(adapter({}).ping(), "unreachable");
    await adapter({ caCertificate: ca }).ping();
    await adapter({ insecure: true }).ping();
  });

  it("makes one TLS context for the endpoint's CA, however many connections it opens", async () => {
    const upstreamAdapter = adapter({ caCertificate: ca });
    const contexts = vi.spyOn(tls, "createSecureContext");
    try {
      // Requests at once: each needs a connection of its own.
      const manifests = await Promise.all(
        Array.from({ length: 4 }, () => upstreamAdapter.getManifest("team/app", "v1", [OCI_MANIFEST])),
      );
      expect(manifests.map((manifest) => manifest?.digest)).toEqual(Array.from({ length: 4 }, () => manifestDigest));
      expect(contexts).toHaveBeenCalledTimes(1);
    } finally {
      contexts.mockRestore();
    }
  });

  it("sends everything through the CONNECT proxy when one is set", async () => {
    const url = `https://${HIDDEN_HOST}:${port}`;
    await expectUpstreamError(adapter({ url, caCertificate: ca }).ping(), "unreachable");
    const before = proxy.tunnels.length;
    const through = adapter({ url, caCertificate: ca }, { httpsProxy: proxy.url });
    await through.ping();
    expect((await through.getManifest("team/app", "v1", [OCI_MANIFEST]))?.digest).toBe(manifestDigest);
    const blob = await through.getBlob("team/app", sha256("layer over tls"));
    expect((await readAll(blob?.body)).toString()).toBe("layer over tls");
    const tunnels = proxy.tunnels.slice(before);
    expect(tunnels.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tunnels)).toEqual(new Set([`${HIDDEN_HOST}:${port}`]));
  });

  it("authenticates to the proxy with the credentials in its URL", async () => {
    const url = `https://${HIDDEN_HOST}:${port}`;
    const secured = new URL(securedProxy.url);
    secured.username = "egress";
    secured.password = "proxy-password";
    await adapter({ url, caCertificate: ca }, { httpsProxy: secured.toString() }).ping();
    expect(securedProxy.tunnels.length).toBeGreaterThanOrEqual(1);
    secured.password = "wrong";
    await expectUpstreamError(
      adapter({ url, caCertificate: ca }, { httpsProxy: secured.toString() }).ping(),
      "unreachable",
    );
  });

  it("goes around the proxy for hosts in noProxy", async () => {
    const before = proxy.tunnels.length;
    await adapter({ caCertificate: ca }, { httpsProxy: proxy.url, noProxy: "localhost,127.0.0.0/8" }).ping();
    expect(proxy.tunnels.length).toBe(before);
    await adapter({ caCertificate: ca }, { httpsProxy: proxy.url, noProxy: "other.example" }).ping();
    expect(proxy.tunnels.length).toBeGreaterThan(before);
  });
});

/** Pushes team/app:v1 over HTTPS, trusting `ca` for this client only. */
async function pushOverTls(url: string, ca: string): Promise<{ digest: string }> {
  const { Agent, fetch } = await import("undici");
  const dispatcher = new Agent({ connect: { ca } });
  const client = new OciClient(url);
  client.request = async (method, target, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (client.authorization) headers["Authorization"] = client.authorization;
    const response = await fetch(target.startsWith("http") ? target : `${url}${target}`, {
      method,
      headers,
      dispatcher,
      ...(init.body !== undefined && { body: init.body }),
    });
    return response;
  };
  try {
    return await client.pushImage("team/app", "v1", { layer: "layer over tls" });
  } finally {
    await dispatcher.close();
  }
}
