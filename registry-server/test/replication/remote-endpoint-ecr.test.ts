// An aws-ecr destination, as Harbor's ECR adapter pushes to one: each repository created through
// ECR's API before the first push into it (once; an existing one is fine), images deleted by tag
// or digest through BatchDeleteImage, every API call signed with SigV4. The registry side is CNCF
// Distribution taking the `AWS` password that GetAuthorizationToken hands out; ECR's API is
// scripted on loopback (no AWS here) and checks each signature by signing the request again.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteEndpoint } from "../../src/replication/remote-endpoint.ts";
import { signAwsRequest } from "../../src/http/aws-sigv4.ts";
import { createUpstreamConnections } from "../../src/upstream/upstream-factory.ts";
import { imageOf, seedImage } from "../contracts/replication-endpoint-contract.ts";
import { startDistribution, type DistributionServer } from "../upstream/distribution-server.ts";
import { startScriptedServer, type ScriptedServer } from "../upstream/test-servers.ts";
import { expectUpstreamError } from "../upstream/upstream-helpers.ts";

const ECR_PASSWORD = "ecr-registry-password";
const AWS_KEYS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const REGION = "eu-west-1";

interface EcrCall {
  readonly action: string;
  readonly body: Record<string, unknown>;
}

describe("an aws-ecr destination", () => {
  let distribution: DistributionServer;
  let ecrApi: ScriptedServer;
  const calls: EcrCall[] = [];
  const repositories = new Set(["team/existing"]);
  const endpoints: RemoteEndpoint[] = [];
  const signal = (): AbortSignal => AbortSignal.timeout(20_000);

  function ecr(secret = AWS_KEYS.secretAccessKey): RemoteEndpoint {
    const made = new RemoteEndpoint(
      {
        id: 1,
        name: "ecr",
        type: "aws-ecr",
        url: distribution.url,
        insecure: false,
        credential: { type: "basic", accessKey: AWS_KEYS.accessKeyId, accessSecret: secret },
      },
      createUpstreamConnections({ timeoutMs: 10_000 }, { ecr: { apiUrl: ecrApi.url, region: REGION } }),
    );
    endpoints.push(made);
    return made;
  }

  function answer(action: string, body: Record<string, unknown>): { status: number; json: unknown } {
    if (action === "GetAuthorizationToken") {
      const token = Buffer.from(`AWS:${ECR_PASSWORD}`).toString("base64");
      return {
        status: 200,
        json: { authorizationData: [{ authorizationToken: token, expiresAt: Date.now() / 1000 + 3600 }] },
      };
    }
    const name = String(body["repositoryName"]);
    if (action === "CreateRepository") {
      if (repositories.has(name)) return { status: 400, json: { __type: "RepositoryAlreadyExistsException" } };
      repositories.add(name);
      return { status: 200, json: { repository: { repositoryName: name } } };
    }
    if (action === "BatchDeleteImage") {
      const [id] = body["imageIds"] as Record<string, string>[];
      const known = id?.["imageTag"] === "v1" || id?.["imageDigest"]?.startsWith("sha256:");
      return known
        ? { status: 200, json: { imageIds: [id], failures: [] } }
        : { status: 200, json: { imageIds: [], failures: [{ imageId: id, failureCode: "ImageNotFound" }] } };
    }
    return { status: 400, json: { __type: "InvalidParameterException" } };
  }

  beforeAll(async () => {
    distribution = await startDistribution({ users: { AWS: ECR_PASSWORD } });
    ecrApi = await startScriptedServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        const target = String(req.headers["x-amz-target"]);
        const headers = { "Content-Type": String(req.headers["content-type"]), "X-Amz-Target": target };
        const when = String(req.headers["x-amz-date"]).replace(
          /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
          "$1-$2-$3T$4:$5:$6Z",
        );
        const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
        const expected = signAwsRequest(
          { method: "POST", url, headers, body: text },
          AWS_KEYS,
          REGION,
          "ecr",
          new Date(when),
        );
        res.setHeader("Content-Type", "application/x-amz-json-1.1");
        if (req.headers.authorization !== expected["Authorization"]) {
          res.writeHead(400).end(JSON.stringify({ __type: "UnrecognizedClientException" }));
          return;
        }
        const action = target.replace("AmazonEC2ContainerRegistry_V20150921.", "");
        const body = JSON.parse(text) as Record<string, unknown>;
        calls.push({ action, body });
        const { status, json } = answer(action, body);
        res.writeHead(status).end(JSON.stringify(json));
      });
    });
  });
  afterAll(async () => {
    await Promise.all(endpoints.map((e) => e.close()));
    await ecrApi?.stop();
    await distribution?.stop();
  });

  it("creates each repository once before pushing into it, an existing one included", async () => {
    const endpoint = ecr();
    const image = imageOf("pushed to ecr");
    await seedImage(endpoint, "team/app", "v1", image);
    await seedImage(endpoint, "team/app", "v2", image);
    await seedImage(endpoint, "team/existing", "v1", image);
    expect(await endpoint.headManifest("team/app", "v1", signal())).toBe(image.manifest.digest);
    const creations = calls.filter((c) => c.action === "CreateRepository").map((c) => c.body["repositoryName"]);
    expect(creations).toEqual(["team/app", "team/existing"]);
    expect(calls.filter((c) => c.action === "GetAuthorizationToken")).toHaveLength(1);
  });

  it("deletes tags and manifests through BatchDeleteImage", async () => {
    const endpoint = ecr();
    const digest = imageOf("pushed to ecr").manifest.digest;
    expect(await endpoint.deleteTag("team/app", "v1", signal())).toBe(true);
    expect(await endpoint.deleteTag("team/app", "never-tagged", signal())).toBe(false);
    expect(await endpoint.deleteManifest("team/app", digest, signal())).toBe(true);
    const deletions = calls.filter((c) => c.action === "BatchDeleteImage").map((c) => c.body);
    expect(deletions).toEqual([
      { repositoryName: "team/app", imageIds: [{ imageTag: "v1" }] },
      { repositoryName: "team/app", imageIds: [{ imageTag: "never-tagged" }] },
      { repositoryName: "team/app", imageIds: [{ imageDigest: digest }] },
    ]);
  });

  it("fails as unauthorized when AWS refuses the signature, before anything is sent", async () => {
    const before = calls.length;
    await expectUpstreamError(seedImage(ecr("wrong-secret"), "team/refused", "v1", imageOf("x")), "unauthorized");
    expect(calls.length).toBe(before);
  });
});
