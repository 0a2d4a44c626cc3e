// Where an export pulls from: one upstream adapter per registry host, of the type the host calls
// for (Docker Hub's rules for docker.io, the generic v2 client elsewhere), with the credentials a
// docker-style config.json gives for that host, the egress proxy, and the TLS choices of the
// command line (an extra CA; hosts named insecure skip verification, or speak plain HTTP).

import { readFileSync } from "node:fs";
import { createUpstreamFactory } from "../upstream/upstream-factory.ts";
import {
  UpstreamError,
  type EgressSettings,
  type UpstreamCredential,
  type UpstreamEndpoint,
  type UpstreamFactory,
  type UpstreamRegistry,
} from "../upstream/upstream-registry.ts";
import { DOCKER_HUB } from "./image-reference.ts";

export class ExportError extends Error {
  override name = "ExportError";
}

/** Credentials by registry host, from a docker config.json's `auths`. */
export type Credentials = ReadonlyMap<string, UpstreamCredential>;

/** `https://index.docker.io/v1/`, `docker.io`, `quay.io`, `http://host:5000` → the host as references name it. */
function hostOfKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].includes(host) ? DOCKER_HUB : host;
}

/** Reads the `auths` of a docker-style config.json (Docker's, podman's auth.json). */
export function readCredentials(file: string): Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ExportError(`cannot read --creds-file ${file}: ${(err as Error).message}`);
  }
  const auths = (parsed as { auths?: unknown } | null)?.auths;
  const credentials = new Map<string, UpstreamCredential>();
  if (typeof auths !== "object" || auths === null) return credentials;
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    const entry = (value ?? {}) as { auth?: unknown; username?: unknown; password?: unknown };
    let username = typeof entry.username === "string" ? entry.username : undefined;
    let password = typeof entry.password === "string" ? entry.password : undefined;
    if (typeof entry.auth === "string" && entry.auth !== "") {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
    }
    if (username && password !== undefined) {
      credentials.set(hostOfKey(key), { type: "basic", accessKey: username, accessSecret: password });
    }
  }
  return credentials;
}

export interface SourceOptions {
  readonly egress: EgressSettings;
  readonly credentials: Credentials;
  /** Hosts whose TLS certificate is not verified, and that may speak plain HTTP. */
  readonly insecure: ReadonlySet<string>;
  /** PEM CA bundle trusted in addition to the system's. */
  readonly caCertificate?: string;
}

/** The egress proxy from the environment: AIRLOCK_* first (as the server), then the usual names. */
export function egressFromEnvironment(env: NodeJS.ProcessEnv, timeoutMs: number): EgressSettings {
  const pick = (...names: string[]): string | undefined =>
    names.map((n) => env[n]).find((v) => v !== undefined && v !== "");
  const httpsProxy = pick("AIRLOCK_HTTPS_PROXY", "HTTPS_PROXY", "https_proxy");
  const httpProxy = pick("AIRLOCK_HTTP_PROXY", "HTTP_PROXY", "http_proxy");
  const noProxy = pick("AIRLOCK_NO_PROXY", "NO_PROXY", "no_proxy");
  return {
    ...(httpsProxy !== undefined && { httpsProxy }),
    ...(httpProxy !== undefined && { httpProxy }),
    ...(noProxy !== undefined && { noProxy }),
    timeoutMs,
  };
}

/** Adapters per registry host, built on first use and closed together. */
export class ExportSources {
  private readonly options: SourceOptions;
  private readonly factory: UpstreamFactory;
  private readonly adapters = new Map<string, Promise<UpstreamRegistry>>();

  constructor(options: SourceOptions) {
    this.options = options;
    this.factory = createUpstreamFactory(options.egress);
  }

  async forHost(host: string): Promise<UpstreamRegistry> {
    let adapter = this.adapters.get(host);
    if (!adapter) {
      adapter = this.open(host);
      this.adapters.set(host, adapter);
    }
    return adapter;
  }

  async close(): Promise<void> {
    for (const adapter of this.adapters.values()) {
      const opened = await adapter.catch(() => undefined);
      await opened?.close();
    }
  }

  private endpoint(host: string, scheme: "https" | "http"): UpstreamEndpoint {
    const credential = this.options.credentials.get(host);
    return {
      id: 0,
      name: host,
      type: host === DOCKER_HUB ? "docker-hub" : "docker-registry",
      url: host === DOCKER_HUB ? "https://registry-1.docker.io" : `${scheme}://${host}`,
      insecure: this.options.insecure.has(host),
      ...(credential && { credential }),
      ...(this.options.caCertificate !== undefined && { caCertificate: this.options.caCertificate }),
    };
  }

  /** HTTPS; for an insecure host that does not speak TLS, plain HTTP (what Docker does). */
  private async open(host: string): Promise<UpstreamRegistry> {
    const secure = this.factory(this.endpoint(host, "https"));
    if (!this.options.insecure.has(host)) return secure;
    const speaks = async (adapter: UpstreamRegistry): Promise<UpstreamError | undefined> => {
      try {
        await adapter.ping();
        return undefined;
      } catch (err) {
        // Refused credentials still prove the registry answered in this scheme.
        if (err instanceof UpstreamError && err.kind === "unauthorized") return undefined;
        if (err instanceof UpstreamError) return err;
        throw err;
      }
    };
    const overTls = await speaks(secure);
    if (!overTls) return secure;
    await secure.close();
    const plain = this.factory(this.endpoint(host, "http"));
    const overHttp = await speaks(plain);
    if (!overHttp) return plain;
    await plain.close();
    throw new ExportError(`${host} answers neither over HTTPS (${overTls.message}) nor HTTP (${overHttp.message})`);
  }
}
