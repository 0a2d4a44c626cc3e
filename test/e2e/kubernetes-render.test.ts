// The DMZ stack through the real engine and the real Kubernetes provider plugin, without a
// cluster: `scripts/preview.sh --stack dmz` (what `npm run preview -- --stack dmz` runs) previews
// a throwaway copy of the stack, renders its manifests with `renderYamlToDirectory` and checks
// them with kubectl-validate. This test runs the script as a user would, then reads what it
// rendered: the Deployment, the Ingress, the NetworkPolicies, the monitoring resources, and the
// server's configuration file, which the server's own parser must accept.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROJECT_ROOT } from "./harness";

const STEP_TIMEOUT_MS = 240_000;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The server's configuration module, loaded as the server runs it (ESM TypeScript). */
interface ServerConfigModule {
  parseFileConfig(raw: unknown, source: string): unknown;
  resolveConfig(file: unknown, overrides: { adminPassword?: string }, baseDir: string): { addr: { port: number } };
}

function runPreview(keepDir: string): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [path.join(PROJECT_ROOT, "scripts", "preview.sh"), "--stack", "dmz", "--keep", keepDir],
      // The test command has installed everything already, and type-checked the program and the
      // policy pack (ts-node would again before the preview, harness.ts says why not).
      {
        env: { ...process.env, AIRLOCK_SKIP_BOOTSTRAP: "1", PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
        maxBuffer: 64 * 1024 * 1024,
        timeout: STEP_TIMEOUT_MS,
      },
      (error, stdout, stderr) => resolve({ status: error ? (error.code as number) || 1 : 0, output: stdout + stderr }),
    );
  });
}

describe("the DMZ stack rendered without a cluster", () => {
  let keepDir: string;
  let run: { status: number; output: string };
  let manifests: Manifest[];

  const find = (kind: string, name?: string): Manifest => {
    const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
    if (!found) throw new Error(`no ${kind} ${name ?? ""} rendered`);
    return found;
  };

  beforeAll(async () => {
    keepDir = mkdtempSync(path.join(tmpdir(), "airlock-e2e-render-"));
    run = await runPreview(keepDir);
    const dir = path.join(keepDir, "1-manifest");
    manifests =
      run.status === 0
        ? readdirSync(dir).map((file) => parse(readFileSync(path.join(dir, file), "utf8")) as Manifest)
        : [];
  }, STEP_TIMEOUT_MS);

  afterAll(() => rmSync(keepDir, { recursive: true, force: true }));

  it("previews for real, renders only on up, and passes kubectl-validate", () => {
    expect(run.status, run.output.slice(-4000)).toBe(0);
    expect(run.output).toMatch(/pulumi preview --diff/);
    expect(run.output).toMatch(/\+ \d+ to create/);
    expect(run.output).toContain("the preview wrote no manifest (the provider renders on create)");
    // kubectl-validate reports each file; every one of them is OK.
    const reports = run.output.match(/\.yaml\S*\.\.\.\S*(OK|ERROR)/g) ?? [];
    expect(reports.length).toBe(manifests.length);
    expect(reports.every((line) => line.endsWith("OK"))).toBe(true);
    expect(manifests.length).toBeGreaterThanOrEqual(20);
  });

  it("renders a hardened Deployment of the stack's image, probed on Harbor's health endpoints", () => {
    const deployment = find("Deployment") as unknown as k8s.types.output.apps.v1.Deployment;
    const stack = parse(readFileSync(path.join(PROJECT_ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: { "airlock:kubernetes": { image: string } };
    };
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container?.image).toBe(stack.config["airlock:kubernetes"].image);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container?.readinessProbe.httpGet.path).toBe("/api/v2.0/health");
    expect(container?.livenessProbe.httpGet.path).toBe("/api/v2.0/ping");
  });

  it("publishes through ingress-nginx and draws the zones' paths as NetworkPolicies", () => {
    const ingress = find("Ingress");
    expect(ingress.metadata.annotations).toMatchObject({
      "nginx.ingress.kubernetes.io/proxy-body-size": "0",
      "nginx.ingress.kubernetes.io/whitelist-source-range": "10.30.0.0/24,10.40.0.0/16",
    });
    expect(
      manifests
        .filter((m) => m.kind === "NetworkPolicy")
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual([
      "default-deny",
      "egress-dns",
      "egress-proxy-proxy-dmz-internal-3128",
      "egress-webhook-production-security-team",
      "ingress-cluster-nodes",
      "ingress-controller",
      "ingress-monitoring",
      "ingress-production-namespaces",
      "ingress-production-nodes",
    ]);
    expect(find("ServiceMonitor").apiVersion).toBe("monitoring.coreos.com/v1");
    expect(find("PrometheusRule").metadata.name).toBe("airlock-registry-alerts");
  });

  it("writes a configuration file the server itself accepts, and no stand-in secret anywhere", async () => {
    const configMap = find("ConfigMap") as unknown as { data: Record<string, string> };
    const serverModule = path.join(PROJECT_ROOT, "registry-server", "src", "config.ts");
    const server = (await import(serverModule)) as ServerConfigModule;
    const file = server.parseFileConfig(parse(configMap.data["config.yaml"] ?? ""), "the rendered ConfigMap");
    // The admin password reaches the server through --admin-password-file.
    expect(server.resolveConfig(file, { adminPassword: "from-the-secret" }, "/").addr.port).toBe(5443);
    // The upstream credentials' stand-ins stay in the throwaway stack: the registry's content is
    // not rendered (no server to create it in).
    const dir = path.join(keepDir, "1-manifest");
    for (const name of readdirSync(dir)) expect(readFileSync(path.join(dir, name), "utf8")).not.toContain("stand-in");
  });
});
