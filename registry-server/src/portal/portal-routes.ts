// Serves the web portal under /: its hashed files under /assets/, and the one page that every
// other path outside the APIs loads (the portal routes in the browser). Added after every other
// route, and its pattern leaves the API prefixes alone, so an unknown /api path still gets
// Harbor's 404 JSON and an unknown /v2 path the registry's.
//
// The policy allows this origin's own script, style sheet and API only: no inline code, no CDN,
// no web font, nothing framed. The portal is meant for zones with no route to the internet, and
// it is also what keeps an injected string from running as code.

import type { ServerResponse } from "node:http";
import type { Router } from "../http/router.ts";
import { chooseCoding, type PortalAsset, type PortalAssets } from "./portal-assets.ts";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

/** Paths that belong to the APIs, never to the portal. */
const PORTAL_PAGE = /^\/(?!(?:v2|api|service|c|metrics|assets)(?:\/|$))[^?#]*$/;
const ASSET = /^\/assets\/(?<name>[A-Za-z0-9._-]+)$/;

export interface PortalRoutesDeps {
  /** The built portal; undefined when the set-up has not built it (a page says so). */
  readonly assets: PortalAssets | undefined;
  /** Whether the server speaks TLS (browsers are then told to keep to HTTPS). */
  readonly tls: boolean;
}

function send(
  res: ServerResponse,
  method: string,
  asset: PortalAsset,
  acceptEncoding: string | undefined,
  ifNoneMatch: string | undefined,
  headers: Record<string, string>,
): void {
  const coding = chooseCoding(asset, acceptEncoding);
  const etag = coding === "identity" ? asset.etag : `${asset.etag.slice(0, -1)}-${coding}"`;
  res.setHeader("Content-Type", asset.contentType);
  res.setHeader("ETag", etag);
  res.setHeader("Vary", "Accept-Encoding");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim() === etag)) {
    res.writeHead(304).end();
    return;
  }
  const body = asset.bodies[coding] ?? asset.bodies.identity;
  if (coding !== "identity") res.setHeader("Content-Encoding", coding);
  res.setHeader("Content-Length", body.length);
  res.writeHead(200);
  res.end(method === "HEAD" ? undefined : body);
}

export function addPortalRoutes(router: Router, deps: PortalRoutesDeps): void {
  const security = {
    ...SECURITY_HEADERS,
    ...(deps.tls && { "Strict-Transport-Security": "max-age=31536000" }),
  };
  router.add("portal_asset", "GET", ASSET, ({ req, res, params }) => {
    const asset = deps.assets?.get(`/assets/${params["name"]}`);
    if (!asset) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", ...security }).end("not found\n");
      return;
    }
    // Named by their content's hash: a new build has new names, so browsers may keep these forever.
    send(res, req.method ?? "GET", asset, req.headers["accept-encoding"], req.headers["if-none-match"], {
      ...security,
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });
  router.add("portal_page", "GET", PORTAL_PAGE, ({ req, res }) => {
    const page = deps.assets?.get("/index.html");
    if (!page) {
      res
        .writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...security })
        .end(
          "The portal has not been built: run the README's set-up (scripts/bootstrap.sh). " +
            "The APIs answer under /api/v2.0 and /v2.\n",
        );
      return;
    }
    // Checked on every load, so a new build reaches browsers at once.
    send(res, req.method ?? "GET", page, req.headers["accept-encoding"], req.headers["if-none-match"], {
      ...security,
      "Cache-Control": "no-cache",
    });
  });
}
