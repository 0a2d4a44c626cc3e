// Shared by the portal's browser tests: the portal built once per test file into a directory of
// its own, a registry serving it over TLS, and Debian's Chromium driven by playwright-core
// (never a downloaded browser). Every request a page makes is checked against the registry's
// origin: one to anywhere else is recorded, and fails, since the browser resolves no other
// name, so no test can reach the internet and a test can assert that the portal never tries.

import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { buildPortal } from "../../src/portal/portal-build.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { RegistryOptions } from "../../src/registry.ts";
import { ADMIN, selfSignedCertificate, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";

export const CHROMIUM = "/usr/bin/chromium";

let build: Promise<string> | undefined;

/** The portal built into a temporary directory, once per test file. */
export function builtPortal(): Promise<string> {
  build ??= (async () => {
    const out = tempDir("portal");
    process.once("exit", out.remove);
    return (await buildPortal(`${out.dir}/dist`)).outDir;
  })();
  return build;
}

export interface PortalHarness {
  readonly registry: TestRegistry;
  readonly url: string;
  readonly ca: string;
  readonly browser: Browser;
  /** Requests pages made to anywhere but the registry (aborted before they left). */
  readonly offOrigin: string[];
  /** A fresh browser context (cookies of its own) and a page in it. */
  newPage(options?: { locale?: string; viewport?: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

export async function startPortal(
  overrides: Partial<ServerConfig> = {},
  options: RegistryOptions = {},
): Promise<PortalHarness> {
  const assetsDir = await builtPortal();
  const certs = tempDir("portal-tls");
  const tls = selfSignedCertificate(certs.dir);
  const registry = await startTestRegistry({ tls, portal: { assetsDir }, ...overrides }, options);
  const origin = new URL(registry.url).origin;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The test's certificate trusted by its key, as a user's browser trusts the registry's CA:
    // a page served with a certificate error would not be cached, and the portal's budgets and
    // caching would be measured on a browser no user has.
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      `--ignore-certificate-errors-spki-list=${spkiHash(tls.certFile)}`,
    ],
    timeout: 30_000,
  });
  const contexts: BrowserContext[] = [];
  const offOrigin: string[] = [];
  return {
    registry,
    url: registry.url,
    ca: readFileSync(tls.certFile, "utf8"),
    browser,
    offOrigin,
    async newPage(pageOptions = {}) {
      const context = await browser.newContext({
        baseURL: registry.url,
        locale: pageOptions.locale ?? "en-GB",
        viewport: pageOptions.viewport ?? { width: 1280, height: 800 },
      });
      contexts.push(context);
      // Recorded, not intercepted: Playwright turns the HTTP cache off in a context whose
      // requests it routes. The browser's resolver (above) already fails every other host.
      context.on("request", (request) => {
        const url = request.url();
        if (!url.startsWith("data:") && !url.startsWith("blob:") && new URL(url).origin !== origin) offOrigin.push(url);
      });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      return page;
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await registry.stop();
      certs.remove();
    },
  };
}

/** The base64 SHA-256 of a certificate's public key (SubjectPublicKeyInfo), Chromium's pin format. */
function spkiHash(certFile: string): string {
  const key = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(key).digest("base64");
}

/** Signs in through the portal's form and waits for the projects page. */
export async function signIn(page: Page, user: { username: string; password: string } = ADMIN): Promise<void> {
  await page.goto("/");
  await page.getByLabel(/^(Username|Nom d'utilisateur)$/).fill(user.username);
  await page.getByLabel(/^(Password|Mot de passe)$/).fill(user.password);
  await page.getByRole("button", { name: /^(Sign in|Se connecter)$/ }).click();
  await page.getByRole("heading", { level: 1, name: /^(Projects|Projets)$/ }).waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AccessibilityViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/**
 * The page's WCAG 2.1 A and AA violations found by axe-core, the accessibility engine, run in
 * the page (evaluated through the DevTools protocol, so the page's CSP need not allow it).
 */
export async function accessibilityViolations(page: Page): Promise<AccessibilityViolation[]> {
  await page.evaluate(`${AXE_SOURCE}\n;undefined`);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (...args: unknown[]) => Promise<AxeResults> } }).axe;
    interface AxeResults {
      violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> }>;
    }
    const results = await axe.run({
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")),
    }));
  });
}

// The server's tests are type-checked without the DOM's types: what runs in the page is written
// as expressions, evaluated there.

/** Whether the page reflows at its width: nothing wider than the viewport but scroll boxes. */
export async function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("document.documentElement.scrollWidth > window.innerWidth + 1");
}

/** The id of the element that has the keyboard focus ("" when it has none). */
export async function focusedId(page: Page): Promise<string> {
  return page.evaluate<string>('document.activeElement?.id ?? ""');
}
