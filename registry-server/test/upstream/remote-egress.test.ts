// Replication's writes honour the endpoint's TLS settings and the egress proxy as the reads do: a
// destination (this registry over HTTPS with a certificate of its own) is refused until its CA is
// trusted, and every push (streamed and chunked blobs, manifests, mounts) and the reads after it
// travel through the CONNECT proxy, whose table alone knows the destination's host name.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteEndpoint } from "../../src/replication/remote-endpoint.ts";
import { createUpstreamConnections } from "../../src/upstream/upstream-factory.ts";
import type { EgressSettings, UpstreamEndpoint } from "../../src/upstream/upstream-registry.ts";
import { imageOf, seedImage, sha256 } from "../contracts/replication-endpoint-contract.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { certificateFor, HIDDEN_HOST, startConnectProxy, type ConnectProxy } from "./test-servers.ts";
import { expectUpstreamError, readAll } from "./upstream-helpers.ts";

describe("replication writes through the egress proxy, to a destination with its own CA", () => {
  const work = tempDir("remote-egress");
  let destination: TestRegistry;
  let ca: string;
  let proxy: ConnectProxy;
  const endpoints: RemoteEndpoint[] = [];
  const signal = (): AbortSignal => AbortSignal.timeout(20_000);

  function remote(endpoint: Partial<UpstreamEndpoint>, egress: Partial<EgressSettings> = {}): RemoteEndpoint {
    const made = new RemoteEndpoint(
      {
        id: 1,
        name: "tls-destination",
        type: "docker-registry",
        url: destination.url,
        insecure: false,
        credential: { type: "basic", accessKey: ADMIN.username, accessSecret: ADMIN.password },
        ...endpoint,
      },
      createUpstreamConnections({ timeoutMs: 5_000, ...egress }),
    );
    endpoints.push(made);
    return made;
  }

  beforeAll(async () => {
    const tls = certificateFor(work.dir);
    ca = readFileSync(tls.certFile, "utf8");
    destination = await startTestRegistry({ tls });
    proxy = await startConnectProxy({ hosts: { [HIDDEN_HOST]: "127.0.0.1" } });
  });
  afterAll(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await proxy?.stop();
    await destination?.stop();
    work.remove();
  });

  it("refuses a destination whose certificate it cannot verify, and pushes once its CA is trusted", async () => {
    const data = randomBytes(1_000);
    await expectUpstreamError(remote({}).hasBlob("tls/app", sha256(data), signal()), "unreachable");
    await expectUpstreamError(
      remote({}).putBlob("tls/app", sha256(data), data.length, Readable.from([data]), {}, signal()),
      "unreachable",
    );
    const trusted = remote({ caCertificate: ca });
    await trusted.putBlob("tls/app", sha256(data), data.length, Readable.from([data]), {}, signal());
    expect(await trusted.hasBlob("tls/app", sha256(data), signal())).toBe(true);
  });

  it("sends every write and read through the CONNECT proxy", async () => {
    const port = new URL(destination.url).port;
    const url = `https://${HIDDEN_HOST}:${port}`;
    const direct = remote({ url, caCertificate: ca });
    await expectUpstreamError(direct.hasBlob("proxied/app", sha256("x"), signal()), "unreachable");

    const before = proxy.tunnels.length;
    const through = remote({ url, caCertificate: ca }, { httpsProxy: proxy.url });
    const image = imageOf("layer through the proxy");
    await seedImage(through, "proxied/app", "v1", image);
    const large = randomBytes(100_000);
    await through.putBlob(
      "proxied/app",
      sha256(large),
      large.length,
      Readable.from([large]),
      { chunkBytes: 30_000 },
      signal(),
    );
    expect(await through.mountBlob("proxied/other", sha256(large), "proxied/app", signal())).toBe(true);

    expect(await through.headManifest("proxied/app", "v1", signal())).toBe(image.manifest.digest);
    expect(await through.listTags("proxied/app", signal())).toEqual(["v1"]);
    const blob = await through.getBlob("proxied/other", sha256(large), signal());
    expect((await readAll(blob?.body)).equals(large)).toBe(true);
    expect(await through.deleteTag("proxied/app", "v1", signal())).toBe(true);

    const tunnels = proxy.tunnels.slice(before);
    expect(tunnels.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tunnels)).toEqual(new Set([`${HIDDEN_HOST}:${port}`]));
  });
});
