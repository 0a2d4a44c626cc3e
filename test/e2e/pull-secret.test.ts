// RegistryPullSecret through the real engine and the real Kubernetes provider plugin, with no
// cluster: the provider renders the manifests to files (renderYamlToDirectory). The program
// (programs/pull-secret/) makes a pull-only robot on a registry server this test runs. `up`
// renders a Secret per namespace whose credential logs in to the registry; a secretVersion bump
// rotates the robot's secret and the rendered Secrets follow (the old secret is refused);
// `destroy` removes the files and the robot.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type TestStack, changes, createTestStack, destroyAndRemove } from "./harness";
import { ADMIN_PASSWORD, type RegistryProcess, startRegistryProcess } from "./registry-calls";

const STEP_TIMEOUT_MS = 300_000;
const PROGRAM_DIR = path.join(__dirname, "programs", "pull-secret");
const NAMESPACES = ["production", "staging"];
const SECRET_NAME = "airlock-pull-secret";

interface DockerConfig {
  auths: Record<string, { username: string; password: string; auth: string }>;
}

/** GET /v2/ with HTTP basic auth: 200 when the credential logs in, 401 when it does not. */
async function loginStatus(registryUrl: string, basicAuth: string): Promise<number> {
  const reply = await fetch(`${registryUrl}/v2/`, { headers: { Authorization: `Basic ${basicAuth}` } });
  await reply.arrayBuffer();
  return reply.status;
}

describe("RegistryPullSecret rendered by the Kubernetes provider", () => {
  let test: TestStack;
  let server: RegistryProcess | undefined;
  let registryWorkDir: string;
  let registryUrl: string;
  let host: string;
  let renderDir: string;
  let firstAuth: string;

  const manifest = (kind: string, namespace: string, name: string) =>
    path.join(renderDir, "1-manifest", `v1-${kind}-${namespace}-${name}.yaml`);

  /** The Secret rendered for a namespace, checked, and its Docker config decoded. */
  function renderedDockerConfig(namespace: string): DockerConfig {
    const secret = parse(readFileSync(manifest("secret", namespace, SECRET_NAME), "utf8")) as {
      kind: string;
      type: string;
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    expect(secret.kind).toBe("Secret");
    expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
    expect(secret.metadata).toMatchObject({ name: SECRET_NAME, namespace });
    const encoded = secret.data[".dockerconfigjson"] ?? "";
    return JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as DockerConfig;
  }

  /** The `auth` of the registry's entry, the same in every namespace. */
  function renderedAuth(): string {
    const [first, ...others] = NAMESPACES.map((namespace) => renderedDockerConfig(namespace).auths[host]);
    if (!first) throw new Error(`no auths entry for ${host}`);
    for (const other of others) expect(other).toEqual(first);
    expect(Buffer.from(first.auth, "base64").toString("utf8")).toBe(`${first.username}:${first.password}`);
    return first.auth;
  }

  beforeAll(async () => {
    registryWorkDir = mkdtempSync(path.join(tmpdir(), "airlock-e2e-registry-"));
    server = await startRegistryProcess(path.join(registryWorkDir, "data"));
    registryUrl = server.url;
    host = server.host;
    test = await createTestStack(
      (workDir) => ({ registryUrl, renderDir: path.join(workDir, "rendered"), secretVersion: 1 }),
      PROGRAM_DIR,
    );
    renderDir = path.join(test.workDir, "rendered");
    await test.stack.setConfig("airlock:adminPassword", { value: ADMIN_PASSWORD, secret: true });
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await destroyAndRemove(test);
    } finally {
      await server?.stop();
      rmSync(registryWorkDir, { recursive: true, force: true });
    }
  }, STEP_TIMEOUT_MS);

  it(
    "up renders a dockerconfigjson Secret per namespace whose credential logs in to the registry",
    async () => {
      const result = await test.stack.up();
      // The stack, the project, the robot, the provider, the component, and per namespace a
      // Secret and a ServiceAccount patch.
      expect(changes(result.summary.resourceChanges)).toEqual({ create: 9 });
      expect(result.outputs["robotName"]?.value).toBe("robot$apps+nodes");
      expect(result.outputs["secretName"]?.value).toBe(SECRET_NAME);

      firstAuth = renderedAuth();
      const entry = renderedDockerConfig("production").auths[host];
      expect(entry?.username).toBe("robot$apps+nodes");
      expect(await loginStatus(registryUrl, firstAuth)).toBe(200);
      expect(await loginStatus(registryUrl, Buffer.from("robot$apps+nodes:wrong").toString("base64"))).toBe(401);

      for (const namespace of NAMESPACES) {
        const account = parse(readFileSync(manifest("serviceaccount", namespace, "default"), "utf8")) as unknown;
        expect(account).toMatchObject({
          kind: "ServiceAccount",
          metadata: { name: "default", namespace },
          imagePullSecrets: [{ name: SECRET_NAME }],
        });
      }

      // The robot's secret is in the state file only encrypted (the Automation API's export
      // would decrypt it, so read the backend's file itself).
      const state = readFileSync(
        path.join(test.workDir, ".pulumi", "stacks", "airlock-e2e-pull-secret", `${test.stackName}.json`),
        "utf8",
      );
      expect(state).toContain('"kubernetes:core/v1:Secret"');
      expect(entry?.password).toBeTruthy();
      expect(state).not.toContain(entry?.password);
      expect(state).not.toContain(firstAuth);
      expect(state).not.toContain(Buffer.from(JSON.stringify({ auths: { [host]: entry } })).toString("base64"));
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "a rotated robot secret reaches the pull secret, and the old one is refused",
    async () => {
      await test.stack.setConfig("airlock:secretVersion", { value: "2" });
      const result = await test.stack.up();
      // The robot, and the Secret in each namespace; the ServiceAccounts already point at it.
      expect(changes(result.summary.resourceChanges)).toEqual({ update: 3 });

      const rotatedAuth = renderedAuth();
      expect(rotatedAuth).not.toBe(firstAuth);
      expect(await loginStatus(registryUrl, rotatedAuth)).toBe(200);
      expect(await loginStatus(registryUrl, firstAuth)).toBe(401);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy removes the rendered manifests and the robot",
    async () => {
      const rotatedAuth = renderedAuth();
      const result = await test.stack.destroy();
      expect(changes(result.summary.resourceChanges)).toEqual({ delete: 9 });
      for (const namespace of NAMESPACES) {
        expect(existsSync(manifest("secret", namespace, SECRET_NAME))).toBe(false);
        expect(existsSync(manifest("serviceaccount", namespace, "default"))).toBe(false);
      }
      expect(await loginStatus(registryUrl, rotatedAuth)).toBe(401);
    },
    STEP_TIMEOUT_MS,
  );
});
