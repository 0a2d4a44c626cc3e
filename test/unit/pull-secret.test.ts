// The RegistryPullSecret component's resource graph, with Pulumi's mocks (no engine, no
// cluster), and its validation functions.

import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  RegistryPullSecret,
  dockerConfigJson,
  registryHost,
  validatePullSecretArgs,
} from "../../components/kubernetes/pull-secret";
import { type Registered, SECRET_SIG, outputOf } from "./mocked-resources";

let registered: Registered[] = [];

/** The value inside a secret envelope, and whether there was one. */
function unwrap(value: unknown): { value: unknown; secret: boolean } {
  if (typeof value === "object" && value !== null && SECRET_SIG in value && "value" in value)
    return { value: value.value, secret: true };
  return { value, secret: false };
}

function ofType(type: string): Registered[] {
  return registered.filter((r) => r.type === type);
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    "airlock",
    "unit",
    false,
  );
});

beforeEach(() => {
  registered = [];
});

/** Waits until every child of the component is registered (the patches come last). */
async function settled(component: RegistryPullSecret): Promise<void> {
  await Promise.all([
    ...component.secrets.map((s) => outputOf(s.id)),
    ...component.serviceAccountPatches.map((p) => outputOf(p.id)),
  ]);
}

describe("RegistryPullSecret resource graph", () => {
  it("creates one dockerconfigjson Secret per namespace and attaches it to the default ServiceAccount", async () => {
    const component = new RegistryPullSecret("nodes", {
      registry: "https://registry.example.com",
      robotName: "robot$production+nodes",
      robotSecret: pulumi.secret("S3cret-robot-1"),
      namespaces: ["production", "staging"],
    });
    await settled(component);

    expect(await outputOf(component.secretName)).toBe("airlock-pull-secret");
    expect(component.namespaces).toEqual(["production", "staging"]);
    expect(ofType("airlock:kubernetes:RegistryPullSecret").map((r) => r.name)).toEqual(["nodes"]);

    const secrets = ofType("kubernetes:core/v1:Secret");
    expect(secrets.map((s) => s.name)).toEqual(["nodes-production", "nodes-staging"]);
    for (const [i, namespace] of ["production", "staging"].entries()) {
      const inputs = secrets[i]?.inputs ?? {};
      expect(inputs["type"]).toBe("kubernetes.io/dockerconfigjson");
      expect(inputs["metadata"]).toMatchObject({ name: "airlock-pull-secret", namespace });
      const data = unwrap(inputs["data"]);
      const encoded = unwrap((data.value as Record<string, unknown>)[".dockerconfigjson"]);
      // The credential must never reach the state in clear.
      expect(data.secret || encoded.secret).toBe(true);
      const config = JSON.parse(Buffer.from(encoded.value as string, "base64").toString("utf8")) as {
        auths: Record<string, { username: string; password: string; auth: string }>;
      };
      expect(Object.keys(config.auths)).toEqual(["registry.example.com"]);
      const entry = config.auths["registry.example.com"];
      expect(entry?.username).toBe("robot$production+nodes");
      expect(entry?.password).toBe("S3cret-robot-1");
      expect(Buffer.from(entry?.auth ?? "", "base64").toString("utf8")).toBe("robot$production+nodes:S3cret-robot-1");
    }

    const patches = ofType("kubernetes:core/v1:ServiceAccountPatch");
    expect(patches.map((p) => p.name)).toEqual(["nodes-production-default-sa", "nodes-staging-default-sa"]);
    for (const [i, namespace] of ["production", "staging"].entries()) {
      const inputs = patches[i]?.inputs ?? {};
      expect(inputs["metadata"]).toEqual({ name: "default", namespace });
      expect(inputs["imagePullSecrets"]).toEqual([{ name: "airlock-pull-secret" }]);
    }
  });

  it("takes a Secret name, can leave the ServiceAccounts alone, and forces the patch when asked", async () => {
    const quiet = new RegistryPullSecret("quiet", {
      registry: "localhost:5443",
      robotName: "robot$ci",
      robotSecret: "S3cret-robot-2",
      namespaces: ["ci"],
      secretName: "registry-credentials",
      attachToDefaultServiceAccount: false,
    });
    await settled(quiet);
    expect(ofType("kubernetes:core/v1:ServiceAccountPatch")).toEqual([]);
    expect(ofType("kubernetes:core/v1:Secret")[0]?.inputs["metadata"]).toMatchObject({
      name: "registry-credentials",
      namespace: "ci",
    });

    registered = [];
    const forced = new RegistryPullSecret("forced", {
      registry: "localhost:5443",
      robotName: "robot$ci",
      robotSecret: "S3cret-robot-2",
      namespaces: ["ci"],
      forceServiceAccountPatch: true,
    });
    await settled(forced);
    expect(ofType("kubernetes:core/v1:ServiceAccountPatch")[0]?.inputs["metadata"]).toEqual({
      name: "default",
      namespace: "ci",
      annotations: { "pulumi.com/patchForce": "true" },
    });
  });

  it("refuses bad arguments before declaring any resource", () => {
    expect(
      () =>
        new RegistryPullSecret("bad", {
          registry: "registry.example.com/team",
          robotName: "robot$ci",
          robotSecret: "S3cret-robot-2",
          namespaces: ["ci"],
        }),
    ).toThrow(/not host or host:port/);
    expect(
      () =>
        new RegistryPullSecret("bad", {
          registry: "registry.example.com",
          robotName: "robot$ci",
          robotSecret: "S3cret-robot-2",
          namespaces: [],
        }),
    ).toThrow(/at least one namespace/);
    expect(registered).toEqual([]);
  });
});

describe("pull secret validation", () => {
  it("accepts namespaces and Secret names Kubernetes accepts, and returns the Secret name", () => {
    expect(validatePullSecretArgs({ namespaces: ["production", "team-a1"] })).toBe("airlock-pull-secret");
    expect(validatePullSecretArgs({ namespaces: ["a"], secretName: "harbor-registry-secret" })).toBe(
      "harbor-registry-secret",
    );
    expect(validatePullSecretArgs({ namespaces: ["a"], secretName: "registry.example.com" })).toBe(
      "registry.example.com",
    );
  });

  it("lists every problem at once", () => {
    expect(() => validatePullSecretArgs({ namespaces: [] })).toThrow(
      "RegistryPullSecret: namespaces: expected at least one namespace",
    );
    let message = "";
    try {
      validatePullSecretArgs({ namespaces: ["Production", "ci", "ci", "a.b"], secretName: "Bad_Name" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('"Production" is not a namespace name');
    expect(message).toContain('"a.b" is not a namespace name');
    expect(message).toContain('"ci" is listed twice');
    expect(message).toContain('secretName: "Bad_Name" is not a Secret name');
  });

  it("reduces a registry to the host the kubelet matches", () => {
    expect(registryHost("registry.example.com")).toBe("registry.example.com");
    expect(registryHost("localhost:5443")).toBe("localhost:5443");
    expect(registryHost("https://Registry.Example.com:8443/")).toBe("registry.example.com:8443");
    expect(registryHost("http://127.0.0.1:5000")).toBe("127.0.0.1:5000");
    expect(registryHost("[::1]:5443")).toBe("[::1]:5443");
    for (const bad of ["", "registry.example.com/team", "https://registry.example.com/v2/", "ftp://x", "a b"]) {
      expect(() => registryHost(bad), bad).toThrow(/RegistryPullSecret: registry/);
    }
  });

  it("writes the Docker config kubectl create secret docker-registry writes", () => {
    const json = JSON.parse(dockerConfigJson("localhost:5443", "robot$team+reader", "Pa55-word")) as unknown;
    expect(json).toEqual({
      auths: {
        "localhost:5443": {
          username: "robot$team+reader",
          password: "Pa55-word",
          auth: Buffer.from("robot$team+reader:Pa55-word").toString("base64"),
        },
      },
    });
    expect(() => dockerConfigJson("localhost:5443", "a:b", "x")).toThrow(/no colon/);
    expect(() => dockerConfigJson("localhost:5443", "robot$x", "")).toThrow(/robotSecret/);
  });
});
