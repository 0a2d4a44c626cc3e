// The cosign signature policy with the real cosign (built from its Go module by
// scripts/tools/go-tools.sh) and crane pulling: key pairs made by `cosign generate-key-pair`,
// signatures pushed without a transparency log, as tags, through the referrers API and as
// Sigstore bundles. With `enable_content_trust_cosign` an unsigned image is refused as Harbor
// refuses it (412 PROJECTPOLICYVIOLATION, "The image is not signed by cosign.", on GET and HEAD);
// with `cosign_trusted_keys` (beyond Harbor) only signatures by those keys count, verified
// offline and once per signature set; the administrator, scanner-pull robots and pulls of the
// signatures themselves pass, as in Harbor (not an image dressed as a signature). The registry
// speaks plain HTTP on 127.0.0.1.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { expectError, HarborClient, projectPermissions, type Credentials } from "../api/harbor-client.ts";
import { OCI_INDEX, OCI_MANIFEST, OciClient, descriptorOf, sha256 } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";

const GO_TOOLS = path.resolve(import.meta.dirname, "../../../.tools/bin");
const COMMAND_TIMEOUT_MS = 120_000;
const NOT_SIGNED = "The image is not signed by cosign.";
const NOT_TRUSTED = "The image is not signed by cosign with a key the project trusts.";
const DEVELOPER = { username: "signer", password: "Signer-pass-1" };
const ACCEPT = [OCI_MANIFEST, OCI_INDEX].join(", ");

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

describe("cosign signature policy", () => {
  let registry: TestRegistry;
  let work: { dir: string; remove: () => void };
  let host: string;
  let api: HarborClient;
  let admin: OciClient;
  let puller: Credentials;
  let scanner: Credentials;
  const digests: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const publicKeys: Record<string, string> = {};

  /** Runs cosign or crane without blocking the event loop, which also serves the registry. */
  async function run(
    tool: "cosign" | "crane",
    args: string[],
    options: { as?: Credentials; env?: Record<string, string>; allowFailure?: boolean } = {},
  ): Promise<Run> {
    const as = options.as ?? ADMIN;
    const docker = path.join(work.dir, "docker", as.username.replace(/\W/g, "_"));
    if (!existsSync(docker)) {
      mkdirSync(docker, { recursive: true });
      const auth = Buffer.from(`${as.username}:${as.password}`).toString("base64");
      writeFileSync(path.join(docker, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    }
    const env = {
      PATH: process.env["PATH"],
      HOME: work.dir,
      DOCKER_CONFIG: docker,
      COSIGN_PASSWORD: "test-key-password",
      // Nothing may reach the internet: cosign's TUF cache stays in the test's directory.
      TUF_ROOT: path.join(work.dir, "tuf"),
      ...options.env,
    };
    const outcome = await new Promise<Run>((resolve, reject) => {
      const child = spawn(path.join(GO_TOOLS, tool), args, {
        env,
        cwd: work.dir,
        stdio: ["ignore", "pipe", "pipe"],
        timeout: COMMAND_TIMEOUT_MS,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("error", (err) => reject(new Error(`${tool} could not run: ${err.message}`)));
      child.on("close", (status) => resolve({ stdout, stderr, status }));
    });
    if (!options.allowFailure && outcome.status !== 0) {
      throw new Error(`${tool} ${args.join(" ")} exited with ${outcome.status}:\n${outcome.stderr}${outcome.stdout}`);
    }
    return outcome;
  }

  /** `cosign sign` of `repository@digest` with a key pair made in the test, no transparency log. */
  async function sign(key: string, reference: string, extra: string[] = [], as?: Credentials): Promise<void> {
    await run(
      "cosign",
      ["sign", "--key", path.join(key, "cosign.key"), "--tlog-upload=false", "--yes", "--allow-http-registry"]
        .concat(extra)
        .concat([`${host}/${reference}`]),
      { env: { COSIGN_EXPERIMENTAL: "1" }, ...(as && { as }) },
    );
  }

  async function makeKey(name: string): Promise<void> {
    const dir = path.join(work.dir, name);
    mkdirSync(dir);
    await run("cosign", ["generate-key-pair", "--output-key-prefix", path.join(dir, "cosign")]);
    publicKeys[name] = readFileSync(path.join(dir, "cosign.pub"), "utf8");
  }

  /** A GET or HEAD of a manifest with basic credentials (or a bearer token). */
  async function fetchManifest(
    reference: string,
    auth: Credentials | { token: string },
    method = "GET",
    userAgent?: string,
  ): Promise<Response> {
    const client = new OciClient(registry.url, "token" in auth ? null : auth);
    const headers: Record<string, string> = { Accept: ACCEPT };
    if ("token" in auth) headers["Authorization"] = `Bearer ${auth.token}`;
    if (userAgent) headers["User-Agent"] = userAgent;
    return client.request(method, `/v2/prod/app/manifests/${reference}`, { headers });
  }

  /** Harbor's refusal of a GET: 412 and its error, without the manifest. */
  async function expectRefused(response: Response, message: string): Promise<void> {
    expect(response.status).toBe(412);
    expect(response.headers.get("docker-content-digest")).toBeNull();
    expect(await response.json()).toEqual({ errors: [{ code: "PROJECTPOLICYVIOLATION", message }] });
  }

  async function setMetadata(key: string, value: string): Promise<void> {
    const reply = await api.call("PUT", `/projects/prod/metadatas/${key}`, { body: { [key]: value } });
    expect(reply.status, reply.text).toBe(200);
  }

  async function token(as: Credentials, scope = "repository:prod/app:pull"): Promise<string> {
    const reply = await api.call("GET", `/service/token?service=airlock&scope=${encodeURIComponent(scope)}`, {
      auth: as,
    });
    expect(reply.status, reply.text).toBe(200);
    return (reply.json as { token: string }).token;
  }

  /** crane reading a manifest as `as`: its exit status and what it printed. */
  function craneManifest(reference: string, as: Credentials): Promise<Run> {
    return run("crane", ["manifest", "--insecure", `${host}/prod/app${reference}`], { as, allowFailure: true });
  }

  beforeAll(async () => {
    for (const tool of ["cosign", "crane"]) {
      if (!existsSync(path.join(GO_TOOLS, tool)))
        throw new Error(`${tool} is missing: run scripts/tools/go-tools.sh (scripts/test.sh does)`);
    }
    work = tempDir("cosign");
    registry = await startTestRegistry();
    host = `127.0.0.1:${new URL(registry.url).port}`;
    api = new HarborClient(registry.url);
    admin = new OciClient(registry.url);
    await api.createProject("prod", false);
    await api.createUser(DEVELOPER.username, DEVELOPER.password);
    await api.addMember("prod", DEVELOPER.username, ROLES.developer);
    const pull = await api.createRobot({
      name: "deploy",
      level: "project",
      duration: -1,
      permissions: projectPermissions("prod", [["repository", "pull"]]),
    });
    puller = { username: pull.name, password: pull.secret };
    const scan = await api.createRobot({
      name: "scanner",
      level: "project",
      duration: -1,
      permissions: projectPermissions("prod", [
        ["repository", "pull"],
        ["repository", "scanner-pull"],
      ]),
    });
    scanner = { username: scan.name, password: scan.secret };

    await makeKey("ci");
    await makeKey("other");
    for (const tag of ["signed", "unsigned", "other", "referrer", "bundle", "late"]) {
      const pushed = await admin.pushImage("prod/app", tag, { layer: `layer of ${tag}` });
      digests[tag] = pushed.digest;
      sizes[tag] = pushed.bytes.length;
    }
    const ci = path.join(work.dir, "ci");
    await sign(ci, `prod/app@${digests["signed"]}`);
    await sign(path.join(work.dir, "other"), `prod/app@${digests["other"]}`);
    await sign(ci, `prod/app@${digests["referrer"]}`, ["--registry-referrers-mode=oci-1-1"]);
    await sign(ci, `prod/app@${digests["bundle"]}`, ["--new-bundle-format"]);
  }, 300_000);

  afterAll(async () => {
    await registry?.stop();
    work?.remove();
  });

  it("lets everything through while the project does not ask for signatures", async () => {
    const crane = await craneManifest(":unsigned", puller);
    expect(crane.status, crane.stderr).toBe(0);
    expect(sha256(crane.stdout)).toBe(digests["unsigned"]);
  });

  it("refuses an unsigned image as Harbor does, on GET and on HEAD; a signed one pulls", async () => {
    await setMetadata("enable_content_trust_cosign", "true");
    const refused = await craneManifest(":unsigned", puller);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`PROJECTPOLICYVIOLATION: ${NOT_SIGNED}`);
    await expectRefused(await fetchManifest("unsigned", puller), NOT_SIGNED);
    await expectRefused(await fetchManifest(digests["unsigned"] ?? "", puller), NOT_SIGNED);
    const head = await fetchManifest("unsigned", puller, "HEAD");
    expect(head.status).toBe(412);
    expect(head.headers.get("docker-content-digest")).toBeNull();

    // Whichever way cosign attached the signature, and whoever signed: Harbor only asks for one.
    for (const tag of ["signed", "other", "referrer", "bundle"]) {
      const pulled = await craneManifest(`:${tag}`, puller);
      expect(pulled.status, `${tag}: ${pulled.stderr}`).toBe(0);
      expect(sha256(pulled.stdout)).toBe(digests[tag]);
      expect((await fetchManifest(tag, puller, "HEAD")).status).toBe(200);
    }
  });

  it("with trusted keys, counts only signatures a trusted key verifies, tag, referrer or bundle", async () => {
    await setMetadata("cosign_trusted_keys", publicKeys["ci"] ?? "");
    for (const tag of ["signed", "referrer", "bundle"]) {
      const pulled = await craneManifest(`:${tag}`, puller);
      expect(pulled.status, `${tag}: ${pulled.stderr}`).toBe(0);
    }
    const other = await craneManifest(":other", puller);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain(`PROJECTPOLICYVIOLATION: ${NOT_TRUSTED}`);
    await expectRefused(await fetchManifest("unsigned", puller), NOT_SIGNED);

    // Verified once per signature set, however often it is pulled.
    const checked = (): string[] =>
      registry.logs.filter(
        (line) => line.includes("cosign signatures checked") && line.includes(digests["signed"] ?? "?"),
      );
    const before = checked().length;
    for (let i = 0; i < 5; i++) expect((await fetchManifest("signed", puller)).status).toBe(200);
    expect(checked().length).toBe(before);
    expect(before).toBe(1);
    expect(checked()[0]).toContain('"verified":true');

    // Trusting the other key as well lets its signature through at once.
    await setMetadata("cosign_trusted_keys", `${publicKeys["ci"]}${publicKeys["other"]}`);
    expect((await fetchManifest("other", puller)).status).toBe(200);
    await setMetadata("cosign_trusted_keys", publicKeys["ci"] ?? "");
    await expectRefused(await fetchManifest("other", puller), NOT_TRUSTED);
  });

  it("lets the administrator, scanner-pull callers and pulls of signatures through, as Harbor", async () => {
    // The administrator, with basic credentials or a token (whose access carries scanner-pull).
    expect((await fetchManifest("unsigned", ADMIN)).status).toBe(200);
    expect((await fetchManifest("unsigned", { token: await token(ADMIN) })).status).toBe(200);
    // A robot with Harbor's scanner-pull permission, with basic credentials, a token, and crane.
    expect((await fetchManifest("unsigned", scanner)).status).toBe(200);
    const scannerToken = await token(scanner);
    const claims = JSON.parse(Buffer.from(scannerToken.split(".")[1] ?? "", "base64url").toString()) as {
      access: Array<{ actions: string[] }>;
    };
    expect(claims.access[0]?.actions).toEqual(["pull", "scanner-pull"]);
    expect((await fetchManifest("unsigned", { token: scannerToken })).status).toBe(200);
    expect((await craneManifest(":unsigned", scanner)).status).toBe(0);
    // A pull-only robot's token carries no scanner-pull, and its pulls are refused.
    const pullToken = await token(puller);
    await expectRefused(await fetchManifest("unsigned", { token: pullToken }), NOT_SIGNED);

    // The signatures themselves: cosign's tag, a referrer and a bundle, though none is signed.
    const tagged = await fetchManifest(`sha256-${digests["signed"]?.slice(7)}.sig`, puller);
    expect(tagged.status).toBe(200);
    const referrers = await admin.request("GET", `/v2/prod/app/referrers/${digests["referrer"]}`);
    const [referrer] = ((await referrers.json()) as { manifests: Array<{ digest: string }> }).manifests;
    expect((await fetchManifest(referrer?.digest ?? "", puller)).status).toBe(200);
  });

  it("lets a signer that may push read what it signs with cosign's User-Agent, as Harbor", async () => {
    const cosignAgent = "cosign/v2.6.5 (linux; amd64)";
    await expectRefused(await fetchManifest("late", DEVELOPER), NOT_SIGNED);
    expect((await fetchManifest("late", DEVELOPER, "GET", cosignAgent)).status).toBe(200);
    // The header alone is not enough: a caller that may not push gets no such favour.
    await expectRefused(await fetchManifest("late", puller, "GET", cosignAgent), NOT_SIGNED);

    // The real thing: the developer signs with the CI key while the policy is on, then it pulls.
    await sign(path.join(work.dir, "ci"), `prod/app@${digests["late"]}`, [], DEVELOPER);
    expect((await craneManifest(":late", puller)).status).toBe(0);
  });

  it("treats an index as Harbor: its own signature, and one per child pulled by digest", async () => {
    const children = [];
    for (const arch of ["amd64", "arm64"]) {
      const pushed = await admin.pushImage("prod/app", `child-${arch}`, { layer: `child ${arch}` });
      children.push({
        mediaType: OCI_MANIFEST,
        digest: pushed.digest,
        size: pushed.bytes.length,
        platform: { os: "linux", architecture: arch },
      });
    }
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children };
    const pushed = await admin.pushManifest("prod/app", "multi", index, OCI_INDEX);
    expect(pushed.response.status).toBe(201);
    await sign(path.join(work.dir, "ci"), `prod/app@${pushed.digest}`);
    expect((await fetchManifest("multi", puller)).status).toBe(200);
    await expectRefused(await fetchManifest(children[0]?.digest ?? "", puller), NOT_SIGNED);

    await sign(path.join(work.dir, "ci"), `prod/app@${pushed.digest}`, ["--recursive"]);
    for (const child of children) expect((await fetchManifest(child.digest, puller)).status).toBe(200);
  });

  it("refuses trusted keys that are not public keys it can use, naming the key", async () => {
    const bad = `${publicKeys["ci"]}-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n`;
    const reply = await api.call("PUT", "/projects/prod/metadatas/cosign_trusted_keys", {
      body: { cosign_trusted_keys: bad },
    });
    expectError(
      reply,
      400,
      "BAD_REQUEST",
      /^invalid metadata\.cosign_trusted_keys: key 2 is not a valid PEM public key$/,
    );
    const privateKey = readFileSync(path.join(work.dir, "ci", "cosign.key"), "utf8");
    expectError(
      await api.call("PUT", "/projects/prod/metadatas/cosign_trusted_keys", {
        body: { cosign_trusted_keys: privateKey },
      }),
      400,
      "BAD_REQUEST",
      /cosign_trusted_keys: key 1 is a private key; give only public keys$/,
    );
    // What was set before stays, in its canonical form.
    const kept = await api.get("/projects/prod/metadatas/cosign_trusted_keys");
    expect((kept.json as Record<string, string>)["cosign_trusted_keys"]).toBe(publicKeys["ci"]);
  });

  it("lists signatures as accessories by their kind; with_signature adds nothing, as in Harbor", async () => {
    // A Notation signature attached through the referrers API, as notation pushes one.
    const empty = "{}";
    const envelope = JSON.stringify({ payload: "e30", protected: "e30", signature: "AA" });
    await admin.pushBlob("prod/app", empty);
    await admin.pushBlob("prod/app", envelope);
    const signature = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.cncf.notary.signature",
      config: descriptorOf("application/vnd.oci.empty.v1+json", empty),
      layers: [descriptorOf("application/jose+json", envelope)],
      subject: { mediaType: OCI_MANIFEST, digest: digests["unsigned"], size: sizes["unsigned"] },
    };
    const notation = await admin.pushManifest("prod/app", sha256(JSON.stringify(signature)), signature, OCI_MANIFEST);
    expect(notation.response.status, await notation.response.text()).toBe(201);
    const types = async (tag: string): Promise<unknown> => {
      const reply = await api.get(`/projects/prod/repositories/app/artifacts/${tag}?with_signature=true&with_tag=true`);
      const body = reply.json as { accessories: Array<{ type: string }> | null; tags: Array<Record<string, unknown>> };
      expect(body.tags.every((t) => !("signed" in t))).toBe(true);
      return body.accessories?.map((a) => a.type) ?? null;
    };
    expect(await types("signed")).toEqual(["signature.cosign"]);
    expect(await types("referrer")).toEqual(["signature.cosign"]);
    expect(await types("bundle")).toEqual(["signature.cosign"]);
    expect(await types("unsigned")).toEqual(["signature.notation"]);
    // A Notation signature is no cosign signature: the policy still refuses the image.
    await expectRefused(await fetchManifest("unsigned", puller), NOT_SIGNED);
    // The signature itself pulls; an image dressed as a signature (its type, a subject) does not.
    expect((await fetchManifest(notation.digest, puller)).status).toBe(200);
    const layer = "a runnable layer";
    await admin.pushBlob("prod/app", layer);
    const disguised = {
      ...signature,
      artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
      layers: [descriptorOf("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    };
    const pushed = await admin.pushManifest("prod/app", "disguised", disguised, OCI_MANIFEST);
    expect(pushed.response.status).toBe(201);
    await expectRefused(await fetchManifest("disguised", puller), NOT_SIGNED);
  });
});
