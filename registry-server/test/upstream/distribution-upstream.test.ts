// The adapters against CNCF Distribution 2.8 (Debian's docker-registry) with htpasswd basic auth:
// ping outcomes, manifests and blobs with digests preserved, tags pagination, Docker Hub's
// `library/` names, ECR's token exchange (its API faked on loopback), and a stopped upstream.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAwsRequest } from "../../src/http/aws-sigv4.ts";
import { createUpstreamFactory, type UpstreamFactoryOptions } from "../../src/upstream/upstream-factory.ts";
import type { UpstreamEndpoint, UpstreamRegistry } from "../../src/upstream/upstream-registry.ts";
import { DOCKER_MANIFEST, OCI_MANIFEST, OciClient, sha256 } from "../distribution/oci-client.ts";
import { startDistribution, type DistributionServer } from "./distribution-server.ts";
import { startScriptedServer, type ScriptedServer } from "./test-servers.ts";
import { expectUpstreamError, pushDockerImage, readAll } from "./upstream-helpers.ts";

const ALICE = { username: "alice", password: "alice-password" };
const ECR_PASSWORD = "ecr-registry-password";
const AWS_KEYS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const ACCEPT = [DOCKER_MANIFEST, OCI_MANIFEST];

describe("adapters against CNCF Distribution with htpasswd", () => {
  let distribution: DistributionServer;
  let ecrApi: ScriptedServer;
  let image: { digest: string; bytes: Buffer };
  const adapters: UpstreamRegistry[] = [];

  function adapter(endpoint: Partial<UpstreamEndpoint>, options: UpstreamFactoryOptions = {}): UpstreamRegistry {
    const made = createUpstreamFactory(
      { timeoutMs: 5_000 },
      options,
    )({
      id: 1,
      name: "distribution",
      type: "docker-registry",
      url: distribution.url,
      insecure: false,
      credential: { type: "basic", accessKey: ALICE.username, accessSecret: ALICE.password },
      ...endpoint,
    });
    adapters.push(made);
    return made;
  }

  beforeAll(async () => {
    distribution = await startDistribution({ users: { [ALICE.username]: ALICE.password, AWS: ECR_PASSWORD } });
    const client = new OciClient(distribution.url, ALICE);
    image = await pushDockerImage(client, "team/app", "v1", "distribution layer");
    await pushDockerImage(client, "library/busybox", "1.36", "busybox layer");
    for (let i = 0; i < 5; i++) await pushDockerImage(client, "team/many", `t${i}`, `many layer ${i}`);
    // ECR's GetAuthorizationToken: checks the signed request's shape and re-signs it to compare.
    ecrApi = await startScriptedServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const headers = {
          "Content-Type": String(req.headers["content-type"]),
          "X-Amz-Target": String(req.headers["x-amz-target"]),
        };
        const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
        const when = String(req.headers["x-amz-date"]).replace(
          /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
          "$1-$2-$3T$4:$5:$6Z",
        );
        const expected = signAwsRequest(
          { method: "POST", url, headers, body: Buffer.concat(chunks).toString() },
          AWS_KEYS,
          "eu-west-1",
          "ecr",
          new Date(when),
        );
        const valid =
          headers["X-Amz-Target"] === "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" &&
          req.headers.authorization === expected["Authorization"];
        res.setHeader("Content-Type", "application/x-amz-json-1.1");
        if (!valid) {
          res.statusCode = 400;
          res.end(JSON.stringify({ __type: "UnrecognizedClientException", message: "invalid signature" }));
          return;
        }
        res.end(
          JSON.stringify({
            authorizationData: [
              {
                authorizationToken: Buffer.from(`AWS:${ECR_PASSWORD}`).toString("base64"),
                expiresAt: Date.now() / 1000 + 12 * 3600,
                proxyEndpoint: distribution.url,
              },
            ],
          }),
        );
      });
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await ecrApi?.stop();
    await distribution?.stop();
  });

  it("pings: accepted, wrong password and no credential refused", async () => {
    await adapter({}).ping();
    await expectUpstreamError(
      adapter({ credential: { type: "basic", accessKey: "alice", accessSecret: "wrong" } }).ping(),
      "unauthorized",
    );
    await expectUpstreamError(adapter({ credential: undefined }).ping(), "unauthorized");
  });

  it("gets a Docker manifest by tag and by digest with its exact bytes and digest", async () => {
    const registry = adapter({});
    expect(await registry.headManifest("team/app", "v1", ACCEPT)).toEqual({
      digest: image.digest,
      mediaType: DOCKER_MANIFEST,
      size: image.bytes.length,
    });
    const byTag = await registry.getManifest("team/app", "v1", ACCEPT);
    expect(byTag?.digest).toBe(image.digest);
    expect(byTag?.content.equals(image.bytes)).toBe(true);
    const byDigest = await registry.headManifest("team/app", image.digest, ACCEPT);
    expect(byDigest?.digest).toBe(image.digest);
    expect(await registry.getManifest("team/app", "v2", ACCEPT)).toBeUndefined();
  });

  it("streams a blob and reports an unknown one as absent", async () => {
    const registry = adapter({});
    const blob = await registry.getBlob("team/app", sha256("distribution layer"));
    expect(blob?.size).toBe("distribution layer".length);
    expect((await readAll(blob?.body)).toString()).toBe("distribution layer");
    expect(await registry.getBlob("team/app", sha256("nothing"))).toBeUndefined();
  });

  it("follows Distribution's Link pagination", async () => {
    // Distribution 2.8 does not return paginated tags in lexical order: compare as sets.
    const tags = await adapter({}, { tagsPageSize: 2 }).listTags("team/many", 50);
    expect(tags?.slice().sort()).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(await adapter({}, { tagsPageSize: 2 }).listTags("team/many", 3)).toHaveLength(3);
  });

  it("docker-hub: one-component names are official images under library/", async () => {
    const hub = adapter({ type: "docker-hub" });
    const manifest = await hub.getManifest("busybox", "1.36", ACCEPT);
    expect(manifest?.mediaType).toBe(DOCKER_MANIFEST);
    expect(await hub.listTags("busybox", 10)).toEqual(["1.36"]);
    expect(await hub.getManifest("team/app", "v1", ACCEPT)).toBeDefined();
  });

  it("aws-ecr: exchanges the signed access key for a registry password once, then uses basic auth", async () => {
    const before = ecrApi.requests.length;
    const ecr = adapter(
      {
        type: "aws-ecr",
        credential: { type: "basic", accessKey: AWS_KEYS.accessKeyId, accessSecret: AWS_KEYS.secretAccessKey },
      },
      { ecr: { apiUrl: ecrApi.url, region: "eu-west-1" } },
    );
    await ecr.ping();
    expect((await ecr.getManifest("team/app", "v1", ACCEPT))?.digest).toBe(image.digest);
    await ecr.headManifest("team/app", "v1", ACCEPT);
    expect(ecrApi.requests.length - before).toBe(1);

    const wrongKey = adapter(
      { type: "aws-ecr", credential: { type: "basic", accessKey: AWS_KEYS.accessKeyId, accessSecret: "wrong" } },
      { ecr: { apiUrl: ecrApi.url, region: "eu-west-1" } },
    );
    await expectUpstreamError(wrongKey.ping(), "unauthorized");
    const noRegion = adapter({ type: "aws-ecr" });
    await expectUpstreamError(noRegion.ping(), "protocol");
  });

  it("reports a stopped registry as unreachable", async () => {
    const registry = adapter({});
    await registry.ping();
    await distribution.kill();
    await expectUpstreamError(registry.ping(), "unreachable");
    await expectUpstreamError(registry.getManifest("team/app", "v1", ACCEPT), "unreachable");
  });
});
