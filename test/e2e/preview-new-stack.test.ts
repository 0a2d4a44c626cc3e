// `pulumi preview` of a stack that was never deployed, through the real engine: every output of
// a resource still to be created is unknown, and the dynamic providers' `check` receives those
// values as the engine's unknown sentinel (the CA's certificate for the TLS certificate, the
// generated password and the TLS material for the server, the connection for every registry
// resource, an endpoint's id for its proxy project). The preview must succeed, list the creates
// and start nothing: no server process, no file in the stack's state directory.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNKNOWN } from "../../components/unknowns";
import { type TestStack, changes, createTestStack, freePort } from "./harness";

const STEP_TIMEOUT_MS = 180_000;

/** Processes whose command line mentions `text` (the server would run with its state directory). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("preview of a new stack", () => {
  let test: TestStack;
  let stateDir: string;

  beforeAll(async () => {
    const port = await freePort();
    test = await createTestStack((workDir) => {
      stateDir = path.join(workDir, "registry");
      // No adminPassword: the generated one is unknown until the first up.
      return {
        local: { port, stateDir, logLevel: "warn" },
        upstream: { httpsProxy: "http://proxy.corp.example:3128", noProxy: "localhost", timeoutSeconds: 30 },
        mirror: {
          defaultProject: "hub",
          namespaces: { "docker.io": "hub" },
          hosts: { "mirror.corp.example": "hub" },
        },
        projects: [
          {
            name: "team",
            members: [{ username: "alice", role: "developer" }],
            robots: [
              { name: "ci", actions: ["pull", "push"] },
              { name: "reader", actions: ["pull"] },
            ],
          },
        ],
      };
    });
    // Secrets as an operator sets them: the users' passwords and the upstream's credential.
    const secrets = {
      users: [{ username: "alice", password: "Alice-pass-1", email: "alice@example.test" }],
      registries: [
        {
          name: "docker-hub",
          type: "docker-hub",
          url: "https://registry-1.docker.io",
          credential: { accessKey: "corp", accessSecret: "dckr_pat_example" },
        },
      ],
      proxyProjects: [
        {
          name: "hub",
          registry: "docker-hub",
          public: true,
          speedKbps: 10_240,
          preheat: { images: ["library/alpine:3.20", "library/nginx:1.27"], platforms: ["linux/amd64"] },
          members: [{ username: "alice", role: "guest" }],
          robots: [{ name: "nodes", actions: ["pull"] }],
        },
      ],
    };
    for (const [key, value] of Object.entries(secrets)) {
      await test.stack.setConfig(`airlock:${key}`, { value: JSON.stringify(value), secret: key !== "proxyProjects" });
    }
  }, STEP_TIMEOUT_MS);

  // Nothing was deployed: removing the stack and its directory is all there is to clean up.
  afterAll(() => test?.remove(), STEP_TIMEOUT_MS);

  it(
    "succeeds, lists the creates and starts nothing",
    async () => {
      const events: EngineEvent[] = [];
      const result = await test.stack.preview({ onEvent: (event) => events.push(event) });

      const steps = events.flatMap((event) => (event.resourcePreEvent ? [event.resourcePreEvent.metadata] : []));
      // The default provider of the dynamic resources is created too, but not counted as a change.
      const creates = steps
        .filter((step) => step.op === "create" && !step.type.startsWith("pulumi:providers:"))
        .map((step) => step.type.replace("pulumi-nodejs:dynamic/", ""))
        .sort();
      expect(creates).toEqual([
        "airlock:local:LocalRegistry",
        "airlock:registry:DeclaredContent",
        "airlock:registry:DeclaredProxyCache",
        "airlock:server:RegistryServer",
        "local:ServerProcess",
        "pulumi:pulumi:Stack",
        "registry:Preheat",
        "registry:Project",
        "registry:ProjectMember",
        "registry:ProjectMember",
        "registry:ProxyProject",
        "registry:RegistryEndpoint",
        "registry:RetentionPolicy",
        "registry:RobotAccount",
        "registry:RobotAccount",
        "registry:RobotAccount",
        "registry:User",
        "secrets:GeneratedPassword",
        "tls:CertificateAuthority",
        "tls:TlsCertificate",
      ]);
      expect(changes(result.changeSummary)).toEqual({ create: creates.length });

      // What check handed back: unknowns stay unknown, known values are checked and kept.
      const inputsOf = (type: string): Record<string, unknown> =>
        steps.find((step) => step.type === `pulumi-nodejs:dynamic/${type}`)?.new?.inputs ?? {};
      expect(inputsOf("tls:TlsCertificate")).toMatchObject({
        caCertPem: UNKNOWN,
        commonName: "localhost",
        ipAddresses: ["127.0.0.1", "::1"],
      });
      expect(inputsOf("registry:ProxyProject")).toMatchObject({
        connection: UNKNOWN,
        registryId: UNKNOWN,
        name: "hub",
        public: true,
        metadata: { proxy_speed_kb: "10240", max_upstream_conn: "-1" },
      });
      // The proxy cache's expiry: its project's name is known, the schedule normalised already.
      expect(inputsOf("registry:RetentionPolicy")).toMatchObject({
        connection: UNKNOWN,
        project: "hub",
        schedule: "0 0 0 * * *",
        rules: [{ keepPulledWithinDays: 7, untagged: true }],
      });
      expect(inputsOf("registry:Preheat")).toMatchObject({
        images: ["library/alpine:3.20", "library/nginx:1.27"],
        platforms: ["linux/amd64"],
      });
      // No diagnostics of the error kind, such as a check failure reported as a warning.
      const errors = events.filter((event) => event.diagnosticEvent?.severity === "error");
      expect(errors.map((event) => event.diagnosticEvent?.message)).toEqual([]);

      // A preview runs no create: no configuration, TLS files, log or data, and no server.
      expect(existsSync(stateDir)).toBe(false);
      expect(processesMentioning(test.workDir)).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );
});
