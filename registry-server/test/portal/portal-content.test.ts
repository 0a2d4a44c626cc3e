// A repository's artifacts and an artifact in a real browser (Debian's Chromium), over content
// pushed by real clients: a two-platform index signed by the real cosign and with an SPDX SBOM
// attached by the real oras, scanned from the page by a scanner adapter speaking Harbor's
// Scanner API on loopback; the digest pull command copied from the page and run with skopeo; a
// tag added and deleted, an immutable tag's refusal shown; a guest without the controls; French;
// the accessibility engine on each page; nothing asked of another origin.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { tempDir } from "../helpers.ts";
import { FakeScannerAdapter } from "../scan/fake-scanner-adapter.ts";
import {
  accessibilityViolations,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";
import { pushPlatformImage, pushTwoPlatformIndex, TlsClient } from "./portal-content-fixture.ts";

const TOOLS = path.resolve(import.meta.dirname, "../../../.tools/bin");
const COMMAND_TIMEOUT_MS = 60_000;
const SBOM_TYPE = "application/spdx+json";
const GUEST = { username: "content-guest", password: "Guest-password-1" };
const VULNERABILITY_REPORT = "application/vnd.security.vulnerability.report; version=1.1";

describe("the artifacts and artifact pages", () => {
  let portal: PortalHarness;
  let client: TlsClient;
  let work: { dir: string; remove: () => void };
  const adapter = new FakeScannerAdapter();
  let projectId = 0;
  let index: { index: string; children: [string, string] };
  let single: { digest: string };
  let host = "";

  async function run(tool: string, args: string[], cwd = work.dir): Promise<string> {
    const binary = existsSync(path.join(TOOLS, tool)) ? path.join(TOOLS, tool) : tool;
    const env = {
      PATH: process.env["PATH"],
      HOME: work.dir,
      DOCKER_CONFIG: path.join(work.dir, "docker"),
      COSIGN_PASSWORD: "portal-key-password",
      TUF_ROOT: path.join(work.dir, "tuf"),
      SSL_CERT_FILE: path.join(work.dir, "ca.crt"),
    };
    const outcome = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn(binary, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
      child.on("error", (err) => reject(new Error(`${tool} could not run: ${err.message}`)));
      child.on("close", (status) => resolve({ status, output }));
    });
    if (outcome.status !== 0)
      throw new Error(`${tool} ${args.join(" ")} exited with ${outcome.status}:\n${outcome.output}`);
    return outcome.output;
  }

  const listUrl = () => `/projects/${projectId}/repositories/${encodeURIComponent("shop/app")}`;
  const artifactUrl = (digest: string) => `${listUrl()}/artifacts/${encodeURIComponent(digest)}`;
  const short = (digest: string) => digest.slice(0, 19);

  async function signedIn(user?: typeof GUEST, locale?: string): Promise<Page> {
    const page = await portal.newPage(locale ? { locale } : {});
    await signIn(page, user);
    return page;
  }

  beforeAll(async () => {
    work = tempDir("portal-content");
    await adapter.start();
    adapter.pendingPolls = 0;
    adapter.refreshAfter = 1;
    adapter.answer = () => ({
      report: {
        generated_at: "2024-05-06T07:08:09Z",
        severity: "Critical",
        vulnerabilities: [
          { id: "CVE-2024-0001", package: "openssl", version: "3.0.1", fix_version: "3.0.2", severity: "Critical" },
          { id: "CVE-2024-0002", package: "zlib", version: "1.2.11", severity: "High" },
          { id: "CVE-2024-0003", package: "busybox", version: "1.36", fix_version: "1.37", severity: "Medium" },
        ],
      },
    });
    portal = await startPortal();
    host = new URL(portal.url).host;
    writeFileSync(path.join(work.dir, "ca.crt"), portal.ca);
    mkdirSync(path.join(work.dir, "docker"), { recursive: true });
    writeFileSync(
      path.join(work.dir, "docker", "config.json"),
      JSON.stringify({ auths: { [host]: { auth: Buffer.from("admin:test-admin-password").toString("base64") } } }),
    );
    client = new TlsClient(portal.url, portal.ca);
    const created = await client.expect(201, "POST", "/projects", {
      body: { project_name: "shop", metadata: { public: "false" } },
    });
    projectId = Number(String(created.headers["location"]).split("/").pop());
    // The allowlist lets the High one through: the page marks it as allowed.
    await client.expect(200, "PUT", `/projects/${projectId}`, {
      body: { cve_allowlist: { items: [{ cve_id: "CVE-2024-0002" }] }, metadata: { reuse_sys_cve_allowlist: "false" } },
    });
    index = await pushTwoPlatformIndex(client, "shop/app", "v1");
    single = await pushPlatformImage(client, "shop/app", "amd64", "v2");
    // The real cosign (scripts/tools/go-tools.sh builds it); its keys kept out of the directory
    // skopeo reads certificates from, where a lone .key file is an error.
    if (!existsSync(path.join(TOOLS, "cosign"))) throw new Error("cosign is missing: run scripts/tools/go-tools.sh");
    const keys = path.join(work.dir, "cosign-keys");
    mkdirSync(keys);
    await run("cosign", ["generate-key-pair", "--output-key-prefix", path.join(keys, "cosign")]);
    await run("cosign", [
      "sign",
      "--key",
      path.join(keys, "cosign.key"),
      "--tlog-upload=false",
      "--yes",
      `${host}/shop/app@${index.index}`,
    ]);
    writeFileSync(
      path.join(work.dir, "sbom.spdx.json"),
      JSON.stringify({ spdxVersion: "SPDX-2.3", name: "shop-app", packages: [{ name: "openssl" }] }),
    );
    await run("oras", [
      "attach",
      "--ca-file",
      path.join(work.dir, "ca.crt"),
      "--artifact-type",
      SBOM_TYPE,
      `${host}/shop/app@${index.index}`,
      `sbom.spdx.json:${SBOM_TYPE}`,
    ]);
    await client.expect(201, "POST", "/users", {
      body: { username: GUEST.username, password: GUEST.password, email: "guest@example.com", realname: "Guest" },
    });
    await client.expect(201, "POST", `/projects/${projectId}/members`, {
      body: { role_id: 3, member_user: { username: GUEST.username } },
    });
    await client.expect(201, "POST", "/scanners", { body: { name: "loopback", url: adapter.url } });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await portal?.close();
    await adapter.stop();
    work?.remove();
  });

  it("lists the index with its platforms, signed, with an SBOM; the plain image unsigned and not scanned", async () => {
    const page = await signedIn();
    await page.goto(listUrl());
    const table = page.getByRole("region", { name: "Artifacts" });
    await table.getByRole("row").nth(2).waitFor();
    const indexRow = table.getByRole("row").filter({ hasText: short(index.index) });
    await expect(indexRow.textContent()).resolves.toMatch(/v1.*linux\/amd64.*linux\/arm64/);
    await expect(indexRow.getByText("Signed", { exact: true }).isVisible()).resolves.toBe(true);
    // oras's SPDX document is an OCI referrer: the list counts it, the artifact page names its type.
    await expect(indexRow.getByText("1 attached", { exact: true }).isVisible()).resolves.toBe(true);
    const singleRow = table.getByRole("row").filter({ hasText: short(single.digest) });
    await expect(singleRow.textContent()).resolves.toMatch(/v2.*Not scanned.*Not signed/);
    // Accessories and the index's images are not rows of their own: the header and two artifacts.
    await expect(table.getByRole("row").count()).resolves.toBe(3);
    await expect(page.getByRole("navigation", { name: "Breadcrumb" }).textContent()).resolves.toContain("shop/app");
    expect(await accessibilityViolations(page)).toEqual([]);

    // Searching by tag pages on the server: one row, then none (the empty state).
    await page.getByLabel("Search artifacts by tag").fill("v2");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/q=v2/);
    await expect.poll(() => table.getByRole("row").count(), { timeout: 10_000 }).toBe(2);
    await page.getByLabel("Search artifacts by tag").fill("nothing-like-this");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByText("This repository has no artifacts").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("scans the index from the list and shows its vulnerabilities by severity", async () => {
    const page = await signedIn();
    await page.goto(listUrl());
    await page.getByRole("button", { name: `Scan ${short(index.index)}` }).click();
    await page.getByText(`Scan started for ${short(index.index)}.`).waitFor();
    const row = page.getByRole("row").filter({ hasText: short(index.index) });
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole("region", { name: "Artifacts" }).waitFor();
          return row.textContent();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toMatch(/\d+ critical.*\d+ high.*\d+ medium/);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("shows the index: facts, its images, pull commands that pull, vulnerabilities with the allowlist, accessories", async () => {
    const page = await signedIn();
    await page.goto(artifactUrl(index.index));
    await page.getByRole("heading", { level: 2, name: `Artifact ${short(index.index)}` }).waitFor();
    const images = page.getByRole("region", { name: "Images of this index" });
    await expect(images.textContent()).resolves.toMatch(/linux\/amd64.*linux\/arm64/);
    await expect(images.getByRole("link", { name: short(index.children[0]) }).getAttribute("href")).resolves.toBe(
      artifactUrl(index.children[0]),
    );

    // The digest command, copied from the page, pulls with skopeo (both platforms: --all).
    const command = await page.getByLabel("skopeo command to pull By digest", { exact: true }).inputValue();
    expect(command).toBe(`skopeo copy --all --preserve-digests docker://${host}/shop/app@${index.index} oci:app`);
    const [, , ...rest] = command.split(" ");
    await run("skopeo", ["copy", "--src-cert-dir", work.dir, "--src-creds", "admin:test-admin-password", ...rest]);
    const layout = JSON.parse(readFileSync(path.join(work.dir, "app", "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    expect(layout.manifests.map((m) => m.digest)).toEqual([index.index]);
    await expect(page.getByLabel("Docker command to pull v1", { exact: true }).inputValue()).resolves.toBe(
      `docker pull ${host}/shop/app:v1`,
    );

    const findings = page.getByRole("region", { name: "Vulnerabilities found by the scan" });
    await findings.waitFor();
    await expect(findings.getByRole("row").filter({ hasText: "CVE-2024-0001" }).first().textContent()).resolves.toMatch(
      /openssl.*3\.0\.1.*3\.0\.2.*critical/,
    );
    await expect(
      findings.getByRole("row").filter({ hasText: "CVE-2024-0002" }).first().textContent(),
    ).resolves.toContain("Allowed by the project's allowlist");
    await expect(
      findings.getByRole("row").filter({ hasText: "CVE-2024-0001" }).first().textContent(),
    ).resolves.not.toContain("Allowed");

    const accessories = page.getByRole("region", { name: "Signatures, SBOMs and attestations of this artifact" });
    await expect(accessories.textContent()).resolves.toContain("signature.cosign");
    await accessories.getByText(SBOM_TYPE).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(adapter.scans.length).toBeGreaterThan(0);
    expect(VULNERABILITY_REPORT).toContain("vulnerability");
  });

  it("shows an image's layers and build history, and its not-scanned state", async () => {
    const page = await signedIn();
    await page.goto(artifactUrl(single.digest));
    const history = page.getByRole("region", { name: "Build history of the image" });
    await history.waitFor();
    await expect(history.getByRole("row").count()).resolves.toBe(3);
    await expect(history.textContent()).resolves.toMatch(/1.*ADD file:abc.*\(no layer\).*CMD/);
    await expect(page.getByRole("region", { name: "Vulnerabilities", exact: true }).textContent()).resolves.toContain(
      "This artifact has not been scanned yet.",
    );
    await page.getByText("No signature, SBOM or attestation is attached to this artifact.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("adds and deletes a tag as the administrator, and shows an immutable tag's refusal", async () => {
    const page = await signedIn();
    await page.goto(artifactUrl(single.digest));
    await page.getByRole("button", { name: "Add tag" }).click();
    await page.getByRole("dialog", { name: "Add tag" }).getByLabel("New tag").fill("candidate");
    await page.getByRole("dialog", { name: "Add tag" }).getByRole("button", { name: "Add tag" }).click();
    await page.getByText("Tag candidate added.").waitFor();
    const tags = page.getByRole("region", { name: "Tags of this artifact" });
    await tags.getByText("candidate", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Delete tag candidate" }).click();
    await page
      .getByRole("dialog", { name: "Delete the tag candidate?" })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.getByText("Tag candidate deleted.").waitFor();
    await expect.poll(() => tags.getByText("candidate", { exact: true }).count()).toBe(0);
    const listed = await client.expect(200, "GET", `/projects/shop/repositories/app/artifacts/${single.digest}/tags`);
    expect((JSON.parse(listed.text) as Array<{ name: string }>).map((tag) => tag.name)).toEqual(["v2"]);

    await client.expect(201, "POST", `/projects/${projectId}/immutabletagrules`, {
      body: {
        disabled: false,
        action: "immutable",
        template: "immutable_template",
        tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "v2" }],
        scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
      },
    });
    await page.reload();
    await page.getByRole("button", { name: "Delete tag v2" }).click();
    await page.getByRole("dialog", { name: "Delete the tag v2?" }).getByRole("button", { name: "Delete" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/immutable/i);
    await tags.getByText("Immutable").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("gives a guest the pages without scan, tag or delete controls", async () => {
    const page = await signedIn(GUEST);
    await page.goto(listUrl());
    await page.getByRole("region", { name: "Artifacts" }).getByRole("row").nth(2).waitFor();
    await expect(page.getByRole("button", { name: /^(Scan|Delete)/ }).count()).resolves.toBe(0);
    await page.goto(artifactUrl(index.index));
    await page.getByRole("heading", { level: 3, name: "Pull commands" }).waitFor();
    await page.getByRole("region", { name: "Tags of this artifact" }).waitFor();
    await expect(page.getByRole("button", { name: /^(Add tag|Delete)/ }).count()).resolves.toBe(0);
    // What the page hides, the API refuses.
    const refused = await client.call("DELETE", `/projects/shop/repositories/app/artifacts/${index.index}`, {
      auth: GUEST,
    });
    expect(refused.status).toBe(403);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("speaks French and reflows at 200% zoom", async () => {
    const page = await signedIn(undefined, "fr-FR");
    await page.goto(artifactUrl(index.index));
    await page.getByRole("heading", { level: 2, name: `Artefact ${short(index.index)}` }).waitFor();
    await page.getByRole("heading", { level: 3, name: "Commandes de téléchargement" }).waitFor();
    await page.getByRole("region", { name: "Vulnérabilités trouvées par l'analyse" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    const narrow = await portal.newPage({ viewport: { width: 640, height: 400 } });
    await signIn(narrow);
    await narrow.goto(artifactUrl(index.index));
    await narrow.getByRole("heading", { level: 3, name: "Pull commands" }).waitFor();
    expect(await overflowsHorizontally(narrow)).toBe(false);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
