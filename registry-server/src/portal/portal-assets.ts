// The built portal held in memory: a few hundred kilobytes, read once at start-up so that a page
// load costs no file system access, with the compressed copies the build made beside each file.

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import * as path from "node:path";

export type ContentCoding = "br" | "gzip" | "identity";

export interface PortalAsset {
  readonly contentType: string;
  /** Strong validator over the uncompressed bytes; each coding's copy adds its own suffix. */
  readonly etag: string;
  readonly bodies: Readonly<Partial<Record<ContentCoding, Buffer>>> & { readonly identity: Buffer };
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json",
};

export class PortalAssets {
  private readonly assets: ReadonlyMap<string, PortalAsset>;

  private constructor(assets: ReadonlyMap<string, PortalAsset>) {
    this.assets = assets;
  }

  /** Reads a build; undefined when `dir` holds none (the set-up has not built the portal). */
  static async load(dir: string): Promise<PortalAssets | undefined> {
    const index = await readFile(path.join(dir, "index.html")).catch(() => undefined);
    if (!index) return undefined;
    const assets = new Map<string, PortalAsset>();
    const names = await readdir(path.join(dir, "assets")).catch(() => [] as string[]);
    for (const relative of ["index.html", ...names.map((name) => `assets/${name}`)]) {
      const ext = path.extname(relative);
      if (ext === ".gz" || ext === ".br") continue;
      const file = path.join(dir, relative);
      const identity = await readFile(file);
      const [gzip, br] = await Promise.all([
        readFile(`${file}.gz`).catch(() => undefined),
        readFile(`${file}.br`).catch(() => undefined),
      ]);
      assets.set(`/${relative}`, {
        contentType: CONTENT_TYPES[ext] ?? "application/octet-stream",
        etag: `"${createHash("sha256").update(identity).digest("base64url").slice(0, 22)}"`,
        bodies: { identity, ...(gzip && { gzip }), ...(br && { br }) },
      });
    }
    return new PortalAssets(assets);
  }

  /** The file at `/assets/…`, or the page every portal path loads (`/index.html`). */
  get(pathname: string): PortalAsset | undefined {
    return this.assets.get(pathname);
  }
}

/** The coding to send: brotli, then gzip, when the client accepts it and the build made it. */
export function chooseCoding(asset: PortalAsset, acceptEncoding: string | undefined): ContentCoding {
  const accepted = new Set(
    (acceptEncoding ?? "")
      .split(",")
      .map((part) => part.trim().split(";"))
      .filter(([, q]) => q === undefined || !/^\s*q=0(\.0*)?\s*$/.test(q))
      .map(([coding]) => coding?.trim().toLowerCase()),
  );
  if (asset.bodies.br && accepted.has("br")) return "br";
  if (asset.bodies.gzip && accepted.has("gzip")) return "gzip";
  return "identity";
}
