// Builds the web portal (registry-server/portal/) into the directory the server serves it from:
// one script and one style sheet named by their content's hash, source maps beside them, an
// index.html that loads them, and a gzip and a brotli copy of each so the server sends
// compressed bytes without compressing per request. Nothing is fetched from elsewhere: the
// portal must work in a zone with no route to the internet.
//
// Run by the README's set-up (scripts/bootstrap.sh) and by the browser tests, which build into a
// directory of their own:  node registry-server/src/portal/portal-build.ts [outDir]

import { createHash } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { DEFAULT_PORTAL_DIR, PORTAL_SOURCE_DIR } from "./portal-dir.ts";

/** What a build wrote, for the set-up's log and the budget checks. */
export interface PortalBuild {
  readonly outDir: string;
  /** Each file served, its path under the portal's root and its sizes in bytes. */
  readonly files: ReadonlyArray<{ readonly path: string; readonly bytes: number; readonly gzipBytes: number }>;
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4e89"/><path d="M9 23V14a7 7 0 0 1 14 0v9" fill="none" stroke="#fff" stroke-width="3"/><rect x="7" y="16" width="18" height="10" rx="2" fill="#fff"/></svg>\n`;

function indexHtml(script: string, style: string, favicon: string): string {
  // No inline script or style: the Content-Security-Policy allows this origin's files only.
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Airlock</title>",
    `<link rel="icon" href="/${favicon}" type="image/svg+xml">`,
    `<link rel="stylesheet" href="/${style}">`,
    `<script type="module" src="/${script}"></script>`,
    "</head>",
    "<body>",
    '<div id="app"></div>',
    "<noscript>The Airlock portal needs JavaScript. The registry's API answers under /api/v2.0 and /v2.</noscript>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function hashed(name: string, content: Uint8Array): string {
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 12);
  const ext = path.extname(name);
  return `assets/${path.basename(name, ext)}-${hash}${ext}`;
}

/**
 * Builds the portal into `outDir`, replacing what was there only once the new build is complete
 * (a server reading the directory never sees half a build).
 */
export async function buildPortal(outDir: string = DEFAULT_PORTAL_DIR): Promise<PortalBuild> {
  // esbuild is a build-time dependency: loaded here only, never by the running server.
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [path.join(PORTAL_SOURCE_DIR, "src", "main.tsx")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: path.join(outDir, "assets"),
    entryNames: "[name]-[hash]",
    sourcemap: "linked",
    legalComments: "linked",
    write: false,
    logLevel: "silent",
    metafile: false,
  });
  const outputs = new Map<string, Uint8Array>();
  let script: string | undefined;
  let style: string | undefined;
  for (const file of result.outputFiles) {
    const relative = path.relative(outDir, file.path).split(path.sep).join("/");
    outputs.set(relative, file.contents);
    if (relative.endsWith(".js")) script = relative;
    if (relative.endsWith(".css")) style = relative;
  }
  if (!script || !style) throw new Error("the portal build produced no script or no style sheet");
  const faviconBytes = Buffer.from(FAVICON);
  const favicon = hashed("favicon.svg", faviconBytes);
  outputs.set(favicon, faviconBytes);
  outputs.set("index.html", Buffer.from(indexHtml(script, style, favicon)));

  const staging = `${outDir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const files: Array<PortalBuild["files"][number]> = [];
  for (const [relative, content] of outputs) {
    const target = path.join(staging, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    if (relative.endsWith(".map")) continue;
    // Compressed once here, at the highest levels: the server only picks a copy per request.
    const gzip = gzipSync(content, { level: 9 });
    const brotli = brotliCompressSync(content, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
    });
    await writeFile(`${target}.gz`, gzip);
    await writeFile(`${target}.br`, brotli);
    files.push({ path: relative, bytes: content.length, gzipBytes: gzip.length });
  }
  await writeFile(path.join(staging, "portal-build.json"), `${JSON.stringify({ files }, null, 2)}\n`);
  // Swap the finished build in: the old one moved aside first, then removed.
  const previous = `${outDir}.previous-${process.pid}`;
  await rename(outDir, previous).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  await rename(staging, outDir);
  await rm(previous, { recursive: true, force: true });
  return { outDir, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? DEFAULT_PORTAL_DIR);
  const started = Date.now();
  const build = await buildPortal(outDir);
  const total = build.files.reduce((sum, file) => sum + file.gzipBytes, 0);
  console.log(
    `==> portal built in ${Date.now() - started} ms: ${build.files.length} files, ${(total / 1024).toFixed(1)} KiB gzipped (${outDir})`,
  );
}
