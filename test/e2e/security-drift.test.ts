// The security gate declared in a stack, through the real engine: a production project that scans
// on push, refuses High and Critical and unsigned images (signed by one key), with its own CVE
// allowlist; a proxy project that scans on pull-through; the system CVE allowlist; an external
// scanner adapter (a small one this test serves). `up` sets them and the registry shows them;
// changes made by hand through the API (prevent_vul off, an allowlist item added, the scanner's
// description) show as drift in `pulumi refresh`, the preview after it wants to put them back,
// `up` does, and then nothing is left to change (no perpetual diff from the PEM, the severity's
// case or the allowlist's order).

import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import { ADMIN_PASSWORD, type Endpoint, call } from "./registry-calls";

const STEP_TIMEOUT_MS = 240_000;
const ADAPTER_TOKEN = "adapter-token-1";

/** A scanner adapter that only answers its metadata (what registration needs), recording the auth it got. */
async function startAdapter(): Promise<{ url: string; authorizations: string[]; server: Server }> {
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? "");
    if (req.method === "GET" && req.url === "/api/v1/metadata") {
      res.writeHead(200, { "Content-Type": "application/vnd.scanner.adapter.metadata+json; version=1.0" });
      res.end(
        JSON.stringify({
          scanner: { name: "Test adapter", vendor: "Airlock tests", version: "1.0.0" },
          capabilities: [
            {
              consumes_mime_types: ["application/vnd.oci.image.manifest.v1+json"],
              produces_mime_types: ["application/vnd.security.vulnerability.report; version=1.1"],
            },
          ],
          properties: {},
        }),
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, authorizations, server };
}

interface LiveProject {
  metadata: Record<string, string>;
  cve_allowlist: { items: Array<{ cve_id: string }>; expires_at?: number };
}

describe("the security gate declared in a stack", () => {
  let test: TestStack;
  let endpoint: Endpoint;
  let adapter: Awaited<ReturnType<typeof startAdapter>>;
  const ciKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  // The key as the CI's cosign.pub has it, with Windows line ends: the registry keeps it as SPKI PEM.
  const ciKeyPem = ciKey.export({ type: "spki", format: "pem" }).toString().replace(/\n/g, "\r\n");

  beforeAll(async () => {
    adapter = await startAdapter();
    const port = await freePort();
    const upstreamPort = await freePort();
    test = await createTestStack(() => ({}));
    const config = {
      local: { port, stateDir: path.join(test.workDir, "registry"), logLevel: "warn", removeDataOnDestroy: true },
      adminPassword: ADMIN_PASSWORD,
      projects: [
        {
          name: "production",
          autoScan: true,
          preventVulnerable: "High",
          requireSignature: true,
          trustedKeys: [ciKeyPem],
          cveAllowlist: { items: ["CVE-2024-3094", "CVE-2023-44487"], expiresAt: "2030-01-31" },
        },
      ],
      registries: [{ name: "upstream", type: "docker-registry", url: `http://127.0.0.1:${upstreamPort}` }],
      proxyProjects: [{ name: "hub", registry: "upstream", autoScan: true }],
      systemCveAllowlist: { items: ["GHSA-abcd-efgh-ijkl", "CVE-2023-0001"] },
      scanners: [
        {
          name: "test-adapter",
          url: `${adapter.url}/`,
          description: "declared",
          auth: "Bearer",
          accessCredential: ADAPTER_TOKEN,
        },
      ],
    };
    for (const [key, value] of Object.entries(config)) {
      await test.stack.setConfig(`airlock:${key}`, {
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret: key === "adminPassword" || key === "scanners",
      });
    }
  }, STEP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await destroyAndRemove(test);
    } finally {
      adapter?.server.close();
    }
  }, STEP_TIMEOUT_MS);

  async function project(name: string): Promise<LiveProject> {
    const reply = await call(endpoint, "GET", `/api/v2.0/projects/${name}`);
    expect(reply.status).toBe(200);
    return reply.json as LiveProject;
  }

  async function systemAllowlist(): Promise<string[]> {
    const reply = await call(endpoint, "GET", "/api/v2.0/system/CVEAllowlist");
    expect(reply.status).toBe(200);
    return (reply.json as { items: Array<{ cve_id: string }> }).items.map((item) => item.cve_id);
  }

  async function scanner(): Promise<Record<string, unknown> & { uuid: string }> {
    const reply = await call(endpoint, "GET", "/api/v2.0/scanners");
    expect(reply.status).toBe(200);
    const found = (reply.json as Array<Record<string, unknown> & { uuid: string }>).find(
      (s) => s["name"] === "test-adapter",
    );
    expect(found, "the declared scanner is registered").toBeDefined();
    return found as Record<string, unknown> & { uuid: string };
  }

  it(
    "up sets the projects' gates, the system allowlist and the scanner, as the registry then shows them",
    async () => {
      const result = await test.stack.up();
      endpoint = {
        url: result.outputs["url"]?.value as string,
        host: "",
        ca: result.outputs["caCertificate"]?.value as string,
        certDir: "",
      };
      const production = await project("production");
      expect(production.metadata).toMatchObject({
        auto_scan: "true",
        prevent_vul: "true",
        severity: "high",
        enable_content_trust_cosign: "true",
        auto_sbom_generation: "false",
        reuse_sys_cve_allowlist: "false",
      });
      const kept = createPublicKey(production.metadata["cosign_trusted_keys"] ?? "");
      expect(kept.export({ type: "spki", format: "der" })).toEqual(ciKey.export({ type: "spki", format: "der" }));
      expect(production.cve_allowlist.items.map((item) => item.cve_id).sort()).toEqual([
        "CVE-2023-44487",
        "CVE-2024-3094",
      ]);
      expect(production.cve_allowlist.expires_at).toBe(Date.UTC(2030, 0, 31) / 1000);
      expect((await project("hub")).metadata).toMatchObject({ auto_scan: "true", prevent_vul: "false" });
      expect((await systemAllowlist()).sort()).toEqual(["CVE-2023-0001", "GHSA-abcd-efgh-ijkl"]);
      expect(await scanner()).toMatchObject({
        url: adapter.url,
        auth: "Bearer",
        access_credential: "",
        description: "declared",
      });
      // The registry pinged the adapter with the declared credential before registering it.
      expect(adapter.authorizations).toContain(`Bearer ${ADAPTER_TOKEN}`);

      // Nothing left to change: the CRLF PEM, "High" and the allowlists' order make no diff.
      const again = await test.stack.preview();
      expect(changes(again.changeSummary)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows changes made by hand as drift in refresh, the preview wants them back, and up restores them",
    async () => {
      const byHand = { metadata: { prevent_vul: "false" }, cve_allowlist: { items: [{ cve_id: "CVE-2099-0001" }] } };
      expect((await call(endpoint, "PUT", "/api/v2.0/projects/production", { body: byHand })).status).toBe(200);
      const system = {
        items: [{ cve_id: "CVE-2023-0001" }, { cve_id: "GHSA-abcd-efgh-ijkl" }, { cve_id: "CVE-2099-0002" }],
      };
      expect((await call(endpoint, "PUT", "/api/v2.0/system/CVEAllowlist", { body: system })).status).toBe(200);
      const live = await scanner();
      const edited = { ...live, description: "changed by hand", access_credential: "" };
      expect((await call(endpoint, "PUT", `/api/v2.0/scanners/${live.uuid}`, { body: edited })).status).toBe(200);

      const events: EngineEvent[] = [];
      const refresh = await test.stack.refresh({ onEvent: (event) => events.push(event) });
      expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 3 });
      // What refresh recorded: for each resource it updated, the inputs whose live value differs.
      const refreshed = events
        .flatMap((event) => (event.resOutputsEvent ? [event.resOutputsEvent.metadata] : []))
        .filter((step) => step.op === "update")
        .map((step) => {
          const before = step.old?.inputs ?? {};
          const after = step.new?.inputs ?? {};
          const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
            (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
          );
          return `${step.urn.split("::").pop() ?? ""}: ${keys.sort().join(",")}`;
        })
        .sort();
      expect(refreshed).toEqual([
        "registry-project-production: cveAllowlist,preventVulnerable",
        "registry-scanner-test-adapter: description",
        "registry-system-cve-allowlist: items",
      ]);

      const preview = await test.stack.preview();
      expect(changes(preview.changeSummary)).toEqual({ update: 3 });

      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ update: 3 });
      const production = await project("production");
      expect(production.metadata).toMatchObject({ prevent_vul: "true", severity: "high" });
      expect(production.cve_allowlist.items.map((item) => item.cve_id).sort()).toEqual([
        "CVE-2023-44487",
        "CVE-2024-3094",
      ]);
      expect((await systemAllowlist()).sort()).toEqual(["CVE-2023-0001", "GHSA-abcd-efgh-ijkl"]);
      expect((await scanner())["description"]).toBe("declared");

      const settled = await test.stack.refresh();
      expect(changes(settled.summary.resourceChanges)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );
});
