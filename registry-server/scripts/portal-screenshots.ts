// Regenerates the portal's screenshots in docs/portal/ (referenced from the README): a registry
// started for the occasion with a little content (a project, a two-platform image pushed with
// skopeo, a robot, an endpoint), Debian's Chromium signed in as the administrator, one PNG per
// main page at 1280×800, and the sign-in page in French.
//
//   npm run screenshots

import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, fetch } from "undici";
import { runProcess } from "../test/processes.ts";
import { writeMultiPlatformLayout } from "../test/clients/oci-layout.ts";
import { ADMIN, request, tempDir } from "../test/helpers.ts";
import { signIn, startPortal } from "../test/portal/portal-browser.ts";

const OUT = fileURLToPath(new URL("../../docs/portal/", import.meta.url));

async function api(url: string, method: string, pathname: string, body?: unknown): Promise<string> {
  const reply = await fetch(`${url}/api/v2.0${pathname}`, {
    dispatcher,
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64")}`,
      ...(body !== undefined && { "Content-Type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await reply.text();
  if (!reply.ok) throw new Error(`${method} ${pathname}: ${reply.status} ${text}`);
  return reply.headers.get("location") ?? text;
}

const work = tempDir("screenshots");
const portal = await startPortal();
// The API calls trust the registry's own certificate, and nothing else.
const dispatcher = new Agent({ connect: { ca: portal.ca } });
try {
  const { url } = portal;
  const host = new URL(url).host;
  const certDir = path.join(work.dir, "certs");
  mkdirSync(certDir);
  writeFileSync(path.join(certDir, "ca.crt"), portal.ca);

  await api(url, "POST", "/projects", { project_name: "production", metadata: { public: "false" } });
  const project = JSON.parse(await api(url, "GET", "/projects/production")) as { project_id: number };
  writeMultiPlatformLayout(path.join(work.dir, "layout"), "1.4.2");
  const copied = await runProcess(
    "skopeo",
    ["copy", "--all", "--dest-cert-dir", certDir, "--dest-creds", `${ADMIN.username}:${ADMIN.password}`].concat([
      `oci:${path.join(work.dir, "layout")}:1.4.2`,
      `docker://${host}/production/payments/api:1.4.2`,
    ]),
    { timeoutMs: 60_000 },
  );
  if (copied.status !== 0) throw new Error(`skopeo copy failed: ${copied.stderr}`);
  await api(url, "POST", "/robots", {
    name: "ci",
    description: "CI pipeline pushes",
    duration: 90,
    level: "project",
    permissions: [
      {
        kind: "project",
        namespace: "production",
        access: [
          { resource: "repository", action: "pull" },
          { resource: "repository", action: "push" },
        ],
      },
    ],
  });
  const artifacts = JSON.parse(
    (
      await request(`${url}/api/v2.0/projects/production/repositories/payments%252Fapi/artifacts`, {
        auth: ADMIN,
        ca: portal.ca,
      })
    ).body,
  ) as Array<{ digest: string }>;
  const digest = artifacts[0]?.digest ?? "";

  const base = `/projects/${project.project_id}`;
  const pages: Array<[name: string, path: string]> = [
    ["projects", "/projects"],
    ["project-summary", base],
    ["repositories", `${base}/repositories`],
    ["artifacts", `${base}/repositories/${encodeURIComponent("production/payments/api")}`],
    ["artifact", `${base}/repositories/${encodeURIComponent("production/payments/api")}/artifacts/${digest}`],
    ["robots", `${base}/robots`],
    ["policies", `${base}/policies`],
    ["endpoints", "/registries"],
    ["jobs", "/jobs"],
    ["audit-log", "/audit"],
  ];
  mkdirSync(OUT, { recursive: true });
  const signInPage = await portal.newPage({ locale: "fr-FR" });
  await signInPage.goto("/");
  await signInPage.getByRole("heading", { level: 1 }).waitFor();
  await signInPage.screenshot({ path: path.join(OUT, "sign-in-fr.png") });
  const page = await portal.newPage();
  await signIn(page);
  for (const [name, pathname] of pages) {
    await page.goto(pathname);
    await page.getByRole("heading", { level: 1 }).waitFor();
    // Lists load after the frame: wait until nothing is loading any more.
    await page.waitForSelector("text=Loading…", { state: "detached", timeout: 10_000 });
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
    console.log(`==> docs/portal/${name}.png`);
  }
  if (portal.offOrigin.length > 0) throw new Error(`requests left the registry: ${portal.offOrigin.join(", ")}`);
} finally {
  await dispatcher.close();
  await portal.close();
  work.remove();
}
