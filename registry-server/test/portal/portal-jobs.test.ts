// The jobs and audit pages in a real browser against real servers: a garbage collection dry run
// started from the page, with its run and log; a replication policy (made through the API) to
// CNCF Distribution started from the page, ending Succeed with its task's log; and the audit log
// showing the push skopeo made.

import * as path from "node:path";
import type { APIRequestContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN, tempDir } from "../helpers.ts";
import { runProcess } from "../processes.ts";
import { startDistribution, type DistributionServer } from "../upstream/distribution-server.ts";
import { pushDockerImage } from "../upstream/upstream-helpers.ts";
import { adminApi, locationId } from "./portal-admin-api.ts";
import { accessibilityViolations, signIn, startPortal, type PortalHarness } from "./portal-browser.ts";

const SITE = { username: "site-writer", password: "site-password" };

describe("the jobs and audit pages", () => {
  let portal: PortalHarness;
  let distribution: DistributionServer;
  let api: APIRequestContext;
  let policyId = 0;

  beforeAll(async () => {
    distribution = await startDistribution({ users: { [SITE.username]: SITE.password } });
    await pushDockerImage(new OciClient(distribution.url, SITE), "seed/app", "1.0", `seed layer ${Date.now()}`);
    portal = await startPortal();
    api = await adminApi(portal.url);
    // A real client pushes into a project of the portal's registry (the audit log records it).
    expect((await api.post("/api/v2.0/projects", { data: { project_name: "src" } })).status()).toBe(201);
    const work = tempDir("portal-jobs-skopeo");
    try {
      const layout = path.join(work.dir, "image");
      const distributionHost = new URL(distribution.url).host;
      const pull = await runProcess(
        "skopeo",
        [
          "copy",
          "--src-tls-verify=false",
          "--src-creds",
          `${SITE.username}:${SITE.password}`,
          `docker://${distributionHost}/seed/app:1.0`,
          `dir:${layout}`,
        ],
        { env: { HOME: work.dir } },
      );
      expect(pull.status, pull.stderr).toBe(0);
      const push = await runProcess(
        "skopeo",
        [
          "copy",
          "--dest-tls-verify=false",
          "--dest-creds",
          `${ADMIN.username}:${ADMIN.password}`,
          `dir:${layout}`,
          `docker://${new URL(portal.url).host}/src/app:1.0`,
        ],
        { env: { HOME: work.dir } },
      );
      expect(push.status, push.stderr).toBe(0);
    } finally {
      work.remove();
    }
    const endpoint = await api.post("/api/v2.0/registries", {
      data: {
        name: "site",
        type: "docker-registry",
        url: distribution.url,
        credential: { type: "basic", access_key: SITE.username, access_secret: SITE.password },
      },
    });
    expect(endpoint.status(), await endpoint.text()).toBe(201);
    const policy = await api.post("/api/v2.0/replication/policies", {
      data: {
        name: "to-site",
        enabled: true,
        override: true,
        dest_namespace_replace_count: -1,
        dest_registry: { id: locationId(endpoint.headers()) },
        dest_namespace: "copied",
        filters: [{ type: "name", value: "src/**" }],
        trigger: { type: "manual" },
      },
    });
    expect(policy.status(), await policy.text()).toBe(201);
    policyId = locationId(policy.headers());
  });
  afterAll(async () => {
    await api.dispose();
    await portal.close();
    await distribution.stop();
  });

  it("starts a garbage collection dry run and shows its run and log", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { level: 1, name: "Jobs" }).waitFor();
    await page.getByText("Nothing to show yet.").waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Dry run" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /Run \d+ started\./ })
      .waitFor();
    const table = page.getByRole("region", { name: "Garbage collection runs" });
    await table.getByRole("cell", { name: "Dry run" }).waitFor();
    await table.getByText("Success").waitFor({ timeout: 30_000 });
    const log = page.locator("pre.job-log");
    await expect(log.textContent()).resolves.toContain("dry_run: true");
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("starts a replication that ends Succeed and opens its task's log", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.goto("/jobs/replications");
    await page.getByRole("link", { name: "to-site" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole("button", { name: "Start replication to-site" }).click();
    await page.waitForURL(`**/jobs/replications/${policyId}`);
    const executions = page.getByRole("region", { name: "Executions of to-site" });
    await executions.getByText("Succeed").waitFor({ timeout: 60_000 });
    await executions.getByRole("button", { name: /^Show the tasks of execution \d+$/ }).click();
    const logButton = page.getByRole("button", { name: /^Show the log of task \d+$/ });
    const taskId = Number(/\d+$/.exec((await logButton.textContent()) ?? "")?.[0]);
    const execution = (await (
      await api.get(`/api/v2.0/replication/executions?policy_id=${policyId}`)
    ).json()) as Array<{
      id: number;
    }>;
    const taskLog = async (): Promise<string> =>
      (await api.get(`/api/v2.0/replication/executions/${execution[0]?.id ?? 0}/tasks/${taskId}/log`)).text();
    // A task's last lines reach its log a moment after the execution ends: open it once it stays
    // the same for half a second (10 s at most).
    let logText = await taskLog();
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const again = await taskLog();
      if (again === logText) break;
      logText = again;
    }
    await logButton.click();
    // The page shows the task's log as the API serves it (this server's task logs may be empty).
    if (logText === "") await page.getByText("The log is empty.").waitFor();
    else await expect(page.locator("pre.job-log").textContent()).resolves.toBe(logText);
    const violations = await accessibilityViolations(page);
    expect(violations, JSON.stringify(violations)).toEqual([]);
    // What the page said happened did: the image is at the site.
    const copied = await new OciClient(distribution.url, SITE).request("HEAD", "/v2/copied/app/manifests/1.0", {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(copied.status).toBe(200);
  });

  it("shows the scans and queues pages, the scanner's absence as the API's refusal", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.goto("/jobs/scans");
    await page.getByRole("heading", { level: 2, name: "Scan all artifacts" }).waitFor();
    await page.getByRole("alert").first().waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.goto("/jobs/queues");
    await page.getByRole("region", { name: "Worker pools" }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("shows the push skopeo made in the audit log, filtered by operation", async () => {
    const page = await portal.newPage();
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    // Harbor records a push as the artifact's "create".
    await page.getByLabel("Operation").selectOption("create");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/operation=create/);
    const log = page.getByRole("region", { name: "Audit log entries" });
    await log.getByText("src/app:1.0", { exact: false }).first().waitFor();
    await expect(log.getByRole("row").count()).resolves.toBeGreaterThan(1);
    await expect(log.getByRole("cell", { name: "pull", exact: true }).count()).resolves.toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it("never asked for anything outside the registry", () => {
    expect(portal.offOrigin).toEqual([]);
  });
});
