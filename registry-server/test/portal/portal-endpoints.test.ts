// The endpoints pages in a real browser against real servers: an endpoint to CNCF Distribution
// created from the page, its connection tested (and failing once Distribution stops), and the
// proxy cache's figures after two pulls by skopeo through a proxy-cache project.

import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import type { APIRequestContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient } from "../distribution/oci-client.ts";
import { tempDir } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { startDistribution, type DistributionServer } from "../upstream/distribution-server.ts";
import { pushDockerImage } from "../upstream/upstream-helpers.ts";
import { adminApi } from "./portal-admin-api.ts";
import {
  accessibilityViolations,
  overflowsHorizontally,
  signIn,
  startPortal,
  type PortalHarness,
} from "./portal-browser.ts";

const PULLER = { username: "dmz-puller", password: "puller-password" };

describe("the endpoints pages", () => {
  let portal: PortalHarness;
  let distribution: DistributionServer;
  let api: APIRequestContext;
  let endpointId = 0;
  const layer = `layer for the portal's proxy ${Date.now()}`;

  beforeAll(async () => {
    distribution = await startDistribution({ users: { [PULLER.username]: PULLER.password } });
    await pushDockerImage(new OciClient(distribution.url, PULLER), "team/app", "1.0", layer);
    portal = await startPortal();
    api = await adminApi(portal.url);
  });
  afterAll(async () => {
    await api.dispose();
    await portal.close();
    await distribution.stop().catch(() => undefined);
  });

  it("creates an endpoint from the page and tests its connection", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Endpoints" }).click();
    await page.getByRole("heading", { level: 1, name: "Endpoints" }).waitFor();
    await page.getByText("Nothing to show yet.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "New endpoint" }).click();
    const dialog = page.getByRole("dialog", { name: "New endpoint" });
    await dialog.getByLabel("Name", { exact: true }).fill("dmz");
    await dialog.getByLabel("URL").fill(distribution.url);
    await dialog.getByLabel("Access key (user name)").fill(PULLER.username);
    await dialog.getByLabel("Access secret (password or token)").fill(PULLER.password);
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.getByRole("link", { name: "dmz" }).waitFor();
    // The secret went in and never comes back out.
    await expect(page.content()).resolves.not.toContain(PULLER.password);

    await page.getByRole("button", { name: "Test connection: dmz" }).click();
    await expect(
      page.getByRole("status").filter({ hasText: "Connection to dmz" }).textContent(),
    ).resolves.toBeDefined();
    await page.getByText("Connection to dmz succeeded.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    const listed = (await (await api.get("/api/v2.0/registries?q=name%3Ddmz")).json()) as Array<{ id: number }>;
    endpointId = listed[0]?.id ?? 0;
    expect(endpointId).toBeGreaterThan(0);
  });

  it("shows the proxy cache's figures after two pulls through a proxy-cache project", async () => {
    const created = await api.post("/api/v2.0/projects", {
      data: { project_name: "dmz-cache", registry_id: endpointId, metadata: { public: "true" } },
    });
    expect(created.status(), await created.text()).toBe(201);
    const host = new URL(portal.url).host;
    const work = tempDir("portal-skopeo");
    try {
      for (const round of [1, 2]) {
        const copy = await runProcess(
          "skopeo",
          [
            "copy",
            "--src-tls-verify=false",
            `docker://${host}/dmz-cache/team/app:1.0`,
            `dir:${path.join(work.dir, `pull-${round}`)}`,
          ],
          { env: { HOME: work.dir } },
        );
        expect(copy.status, copy.stderr).toBe(0);
      }
      // The blobs skopeo wrote (config and layer): what the second pull got from the cache.
      const pulled = path.join(work.dir, "pull-2");
      const blobBytes = readdirSync(pulled)
        .filter((name) => /^[0-9a-f]{64}$/.test(name))
        .reduce((sum, name) => sum + statSync(path.join(pulled, name)).size, 0);

      const reply = await api.get(`/api/v2.0/registries/${endpointId}/cache-stats`);
      expect(reply.status()).toBe(200);
      // First pull: the manifest, config and layer fetched; second: the three from the cache.
      expect(await reply.json()).toMatchObject({
        hits: 3,
        misses: 3,
        hit_ratio: 0.5,
        bytes_served_from_cache: blobBytes,
        stale_served: 0,
        upstream_errors: 0,
        projects: [{ name: "dmz-cache" }],
      });

      const page = await portal.newPage();
      await signIn(page);
      await page.goto(`/registries/${endpointId}`);
      await page.getByRole("heading", { level: 1, name: "dmz" }).waitFor();
      const figures = page.getByRole("definition");
      await page.getByText("Served from the cache").waitFor();
      await expect(page.locator("dl.facts[aria-label='Proxy cache'] dd").allTextContents()).resolves.toEqual(
        expect.arrayContaining(["3", "50 %"]),
      );
      expect(await figures.count()).toBeGreaterThan(8);
      await page.getByRole("link", { name: "dmz-cache" }).waitFor();
      expect(await accessibilityViolations(page)).toEqual([]);

      // At 200% zoom the page reflows.
      const narrow = await portal.newPage({ viewport: { width: 640, height: 400 } });
      await signIn(narrow);
      await narrow.goto(`/registries/${endpointId}`);
      await narrow.getByText("Served from the cache").waitFor();
      expect(await overflowsHorizontally(narrow)).toBe(false);
    } finally {
      work.remove();
    }
  });

  it("reports the failure once the upstream stopped, in French too", async () => {
    await distribution.stop();
    const page = await portal.newPage({ locale: "fr-FR" });
    await signIn(page);
    await page.goto("/registries");
    await page.getByRole("heading", { level: 1, name: "Points de terminaison" }).waitFor();
    await page.getByRole("button", { name: "Tester la connexion : dmz" }).click();
    await page.getByText(/La connexion à dmz a échoué : .*unreachable/).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
