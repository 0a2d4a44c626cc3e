// What a scan request asks of the built-in scanner, checked before anything runs: the image
// reference trivy pulls (the registry's host, the repository, the digest), the credentials it
// pulls with, whether the registry is plain HTTP, and the reports to make. The request comes from
// this registry's own scan jobs, but its fields end up on a command line: they are held to the
// grammar of names, digests and URLs so that none can pass for an option or another host.

import {
  CYCLONEDX_JSON,
  GENERIC_VULNERABILITY_REPORT_MIME,
  SBOM_REPORT_MIME,
  SPDX_JSON,
  VULNERABILITY_REPORT_MIME,
  type ScanRequest,
} from "../scanner-adapter.ts";

/** Distribution's repository name grammar. */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

/** The SBOM formats trivy writes, by media type: its `--format`. */
export const SBOM_FORMATS: Readonly<Record<string, string>> = {
  [SPDX_JSON]: "spdx-json",
  [CYCLONEDX_JSON]: "cyclonedx",
};

export interface ScanTarget {
  /** host[:port]/repository@digest */
  readonly imageRef: string;
  /** The registry is reached over plain HTTP (trivy's `--insecure`). */
  readonly plainHttp: boolean;
  /** TRIVY_REGISTRY_TOKEN, or TRIVY_USERNAME and TRIVY_PASSWORD. */
  readonly credentials: Readonly<Record<string, string>>;
  readonly vulnerabilities: boolean;
  /** The SBOM media type to produce, if one was asked for. */
  readonly sbomMediaType?: string;
}

export class InvalidScanRequestError extends Error {
  override name = "InvalidScanRequestError";
}

/** A MIME type compared without spaces or case: "a/b; version=1.1" and "a/b;version=1.1" match. */
export function sameMimeType(a: string, b: string): boolean {
  return normalizeMime(a) === normalizeMime(b);
}

function normalizeMime(mime: string): string {
  return mime.replace(/\s+/g, "").toLowerCase();
}

export function parseScanTarget(request: ScanRequest): ScanTarget {
  let url: URL;
  try {
    url = new URL(request.registry.url);
  } catch {
    throw new InvalidScanRequestError("invalid registry.url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidScanRequestError("registry.url must be an http:// or https:// URL");
  }
  if (
    url.username !== "" ||
    url.password !== "" ||
    (url.pathname !== "/" && url.pathname !== "") ||
    url.search !== ""
  ) {
    throw new InvalidScanRequestError("registry.url must be a scheme, a host and a port only");
  }
  const { repository, digest } = request.artifact;
  if (typeof repository !== "string" || !REPOSITORY.test(repository) || repository.length > 255) {
    throw new InvalidScanRequestError("invalid artifact.repository");
  }
  if (typeof digest !== "string" || !DIGEST.test(digest)) throw new InvalidScanRequestError("invalid artifact.digest");

  let vulnerabilities = false;
  let sbomMediaType: string | undefined;
  const capabilities = request.enabled_capabilities ?? [
    { type: "vulnerability" as const, produces_mime_types: [VULNERABILITY_REPORT_MIME] },
  ];
  for (const capability of capabilities) {
    if (capability.type === "vulnerability") {
      vulnerabilities = true;
    } else if (capability.type === "sbom") {
      const types = capability.parameters?.["sbom_media_types"];
      if (!Array.isArray(types) || types.length === 0) throw new InvalidScanRequestError("missing SBOM media type");
      for (const type of types) {
        if (typeof type !== "string" || SBOM_FORMATS[type] === undefined) {
          throw new InvalidScanRequestError(`unsupported SBOM media type: ${JSON.stringify(type)}`);
        }
      }
      // Harbor asks for one (SPDX); the first is made.
      sbomMediaType ??= types[0] as string;
    } else {
      throw new InvalidScanRequestError("invalid scan type");
    }
  }

  return {
    imageRef: `${url.host}/${repository}@${digest}`,
    plainHttp: url.protocol === "http:",
    credentials: credentialsOf(request.registry.authorization),
    vulnerabilities,
    ...(sbomMediaType !== undefined && { sbomMediaType }),
  };
}

/** The request's Authorization as trivy's environment: a bearer token, or basic credentials. */
function credentialsOf(authorization: string): Record<string, string> {
  const [scheme, value, ...rest] = (authorization ?? "").trim().split(/\s+/);
  if (rest.length > 0 || !value) throw new InvalidScanRequestError("registry.authorization must be Bearer or Basic");
  if (scheme?.toLowerCase() === "bearer") return { TRIVY_REGISTRY_TOKEN: value };
  if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw new InvalidScanRequestError("registry.authorization has no user name");
    return { TRIVY_USERNAME: decoded.slice(0, colon), TRIVY_PASSWORD: decoded.slice(colon + 1) };
  }
  throw new InvalidScanRequestError("registry.authorization must be Bearer or Basic");
}

/** The key a report is kept under: both vulnerability MIME types name the same report. */
export function reportKey(mimeType: string): string | undefined {
  if (sameMimeType(mimeType, VULNERABILITY_REPORT_MIME) || sameMimeType(mimeType, GENERIC_VULNERABILITY_REPORT_MIME)) {
    return VULNERABILITY_REPORT_MIME;
  }
  if (sameMimeType(mimeType, SBOM_REPORT_MIME)) return SBOM_REPORT_MIME;
  return undefined;
}
