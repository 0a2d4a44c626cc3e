// The component package's classes (components/pulumi-package/) under Pulumi's mocks: each maps the
// schema's argument forms onto the TypeScript library's resource it holds, and its enumerations
// stay equal to the library's literal unions. The schema itself and a real YAML program are
// test/package/component-package.test.ts's.

import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  Project,
  ProjectAction,
  ProxyProject,
  RegistryEndpoint,
  RegistryEndpointKind,
  RegistryServer,
  RegistryTarget,
  RobotAccount,
  RobotPermissionKind,
} from "../../components/pulumi-package";
import { severityOrOff } from "../../components/pulumi-package/registry-content";
import { REGISTRY_SERVER_TARGETS } from "../../components/registry-server";
import { REGISTRY_ENDPOINT_TYPES } from "../../components/registry/registry-endpoint";
import { type Registered, outputOf, plain, settled } from "./mocked-resources";

let registered: Registered[] = [];

function inputsOf(type: string, name: string): Record<string, unknown> {
  const found = registered.find((r) => r.type.endsWith(type) && r.name === name);
  if (!found)
    throw new Error(`no ${type} ${name} registered; got ${registered.map((r) => `${r.type} ${r.name}`).join(", ")}`);
  return plain(found.inputs) as Record<string, unknown>;
}

const connection = { url: "https://registry.test", username: "admin", password: "pw" };

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        const outputs: Record<string, unknown> = { ...inputs };
        if (args.type.endsWith("CertificateAuthority")) Object.assign(outputs, { certPem: "CA-PEM", keyPem: "CA-KEY" });
        if (args.type.endsWith("TlsCertificate")) Object.assign(outputs, { certPem: "CERT-PEM", keyPem: "CERT-KEY" });
        if (args.type.endsWith("GeneratedPassword")) Object.assign(outputs, { value: "generated-password" });
        if (args.type.endsWith("ServerProcess")) Object.assign(outputs, { pid: 4242, running: true });
        if (args.type.endsWith("registry:RobotAccount"))
          Object.assign(outputs, { robotId: 3, fullName: "robot$apps+ci", robotSecret: "s3cret" });
        if (args.type.endsWith("registry:Project")) Object.assign(outputs, { projectId: 7 });
        if (args.type.endsWith("registry:RegistryEndpoint")) Object.assign(outputs, { registryId: 4 });
        return { id: `${args.name}-id`, state: outputs };
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

describe("the component package's enumerations", () => {
  it("are the library's literal unions", () => {
    expect(Object.values(RegistryTarget)).toEqual([...REGISTRY_SERVER_TARGETS]);
    expect(Object.values(RegistryEndpointKind)).toEqual([...REGISTRY_ENDPOINT_TYPES]);
    expect(Object.values(ProjectAction)).toEqual(["pull", "push", "delete"]);
    expect(Object.values(RobotPermissionKind)).toEqual(["project", "system"]);
  });
});

describe("the component package's classes", () => {
  it("RegistryServer deploys the library's RegistryServer and gives its outputs", async () => {
    const server = new RegistryServer("r", {
      target: RegistryTarget.Local,
      local: { port: 6001, stateDir: "/srv/airlock" },
      adminUsername: "root",
    });
    expect(await outputOf(server.url)).toBe("https://localhost:6001");
    expect(await outputOf(server.caCertificate)).toBe("CA-PEM");
    expect(await outputOf(server.adminUsername)).toBe("root");
    expect(await pulumi.isSecret(server.adminPassword)).toBe(true);
    expect(await outputOf(server.connection)).toMatchObject({ url: "https://localhost:6001", username: "root" });
    await settled(registered);
    expect(registered.map((r) => r.type)).toEqual(
      expect.arrayContaining([
        "airlock:index:RegistryServer",
        "airlock:server:RegistryServer",
        "airlock:local:LocalRegistry",
      ]),
    );
  });

  it("RegistryServer refuses a target without its settings, as the library does", () => {
    expect(() => new RegistryServer("k", { target: RegistryTarget.Kubernetes })).toThrow(/needs `kubernetes`/);
  });

  it("RobotAccount turns a project and its access into the project's permissions", async () => {
    const robot = new RobotAccount("ci", {
      connection,
      name: "ci",
      project: "apps",
      access: [ProjectAction.Pull, ProjectAction.Push],
    });
    expect(await outputOf(robot.fullName)).toBe("robot$apps+ci");
    expect(await pulumi.isSecret(robot.robotSecret)).toBe(true);
    expect(inputsOf("registry:RobotAccount", "ci")).toMatchObject({
      project: "apps",
      permissions: [
        {
          kind: "project",
          namespace: "apps",
          access: [
            { resource: "repository", action: "pull" },
            { resource: "repository", action: "push" },
          ],
        },
      ],
    });
  });

  it("RobotAccount takes Harbor's permissions as they are, and refuses both forms or neither", async () => {
    const permissions = [
      { kind: RobotPermissionKind.System, namespace: "/", access: [{ resource: "project", action: "list" }] },
    ];
    new RobotAccount("sys", { connection, name: "sys", permissions });
    await settled(registered);
    expect(inputsOf("registry:RobotAccount", "sys")["permissions"]).toEqual([
      { kind: "system", namespace: "/", access: [{ resource: "project", action: "list" }] },
    ]);
    expect(
      () =>
        new RobotAccount("both", {
          connection,
          name: "both",
          project: "apps",
          access: [ProjectAction.Pull],
          permissions,
        }),
    ).toThrow(/permissions or access, not both/);
    expect(() => new RobotAccount("none", { connection, name: "none" })).toThrow(/needs permissions, or a project/);
  });

  it("Project maps the security gate's schema forms onto the library's", async () => {
    const project = new Project("apps", {
      connection,
      name: "apps",
      preventVulnerable: "HIGH",
      trustedKeys: ["KEY-PEM"],
      cveAllowlist: { items: ["CVE-2024-1"], expiresAt: "2027-01-01" },
      storageLimit: 1024,
    });
    expect(await outputOf(project.projectId)).toBe(7);
    expect(await outputOf(project.projectName)).toBe("apps");
    expect(inputsOf("registry:Project", "apps")).toMatchObject({
      name: "apps",
      preventVulnerable: "high",
      trustedKeys: ["KEY-PEM"],
      cveAllowlist: { items: ["CVE-2024-1"], expiresAt: "2027-01-01" },
      storageLimit: 1024,
    });
  });

  it("RegistryEndpoint and ProxyProject declare the upstream and the cache on it", async () => {
    const upstream = new RegistryEndpoint("hub", {
      connection,
      name: "hub",
      type: RegistryEndpointKind.DockerHub,
      url: "https://registry-1.docker.io",
      credential: { accessKey: "me", accessSecret: "token" },
    });
    const mirror = new ProxyProject("mirror", {
      connection,
      name: "mirror",
      registryId: upstream.registryId,
      speedKbps: 512,
    });
    expect(await outputOf(upstream.registryId)).toBe(4);
    expect(await outputOf(mirror.projectName)).toBe("mirror");
    expect(inputsOf("registry:RegistryEndpoint", "hub")).toMatchObject({
      type: "docker-hub",
      credential: { accessKey: "me" },
    });
    expect(inputsOf("registry:ProxyProject", "mirror")).toMatchObject({
      registryId: 4,
      metadata: { proxy_speed_kb: "512", max_upstream_conn: "-1" },
    });
  });
});

describe("severityOrOff", () => {
  it("takes a severity in any case, or the empty string for no gate", () => {
    expect(severityOrOff("Critical")).toBe("critical");
    expect(severityOrOff("")).toBe(false);
    expect(() => severityOrOff("severe")).toThrow(/must be one of low, medium, high, critical/);
  });
});
