// The transparent mirror: clients configured with Docker's `registry-mirrors` or containerd's
// hosts.toml pull `library/nginx` or `prometheus/prometheus` without a project prefix, and this
// routes each such pull to a proxy-cache project:
//   - a Host rule sends every pull arriving on that host name to one project (a mirror per name);
//   - containerd's `ns` query parameter names the registry the client meant (`docker.io`,
//     `quay.io`): a namespace rule maps it to a project;
//   - otherwise a name whose first segment is not a project goes to the default project (Docker
//     Hub's, usually), as Docker's registry-mirrors expects.
// Only pulls are routed; the rewritten name is what authorization and token scopes see.

import { isValidRepositoryName } from "../content/names.ts";

export interface MirrorSettings {
  /** Proxy-cache project for names without a project prefix. */
  readonly defaultProject?: string | undefined;
  /** containerd's `ns` (a registry host) → proxy-cache project. */
  readonly namespaces: Readonly<Record<string, string>>;
  /** Request host name (without port) → proxy-cache project. */
  readonly hosts: Readonly<Record<string, string>>;
}

const PULL_PATH = /^\/v2\/(?<name>.+)\/(?<what>manifests\/[^/]+|blobs\/[^/]+|tags\/list)$/;

export class MirrorRouting {
  private readonly settings: MirrorSettings;
  private readonly projectExists: (name: string) => Promise<boolean>;

  constructor(settings: MirrorSettings, projectExists: (name: string) => Promise<boolean>) {
    this.settings = settings;
    this.projectExists = projectExists;
  }

  /** Whether any rule is set: without one, requests are never rewritten. */
  get enabled(): boolean {
    return (
      this.settings.defaultProject !== undefined ||
      Object.keys(this.settings.namespaces).length > 0 ||
      Object.keys(this.settings.hosts).length > 0
    );
  }

  /** The path to route instead of `path`, or undefined to route `path` as it is. */
  async rewrite(method: string, path: string, url: URL, host: string | undefined): Promise<string | undefined> {
    if (method !== "GET" && method !== "HEAD") return undefined;
    const match = PULL_PATH.exec(path);
    const name = match?.groups?.["name"];
    const what = match?.groups?.["what"];
    if (name === undefined || what === undefined || !isValidRepositoryName(name)) return undefined;
    const project = await this.projectFor(name, url.searchParams.get("ns"), host);
    return project === undefined ? undefined : `/v2/${project}/${name}/${what}`;
  }

  private async projectFor(name: string, ns: string | null, host: string | undefined): Promise<string | undefined> {
    const byHost = host === undefined ? undefined : this.settings.hosts[hostName(host)];
    if (byHost !== undefined) return byHost;
    if (ns !== null) {
      // The client said which registry it meant: no guessing from the name.
      const namespace = ns.toLowerCase();
      const byNamespace = this.settings.namespaces[namespace];
      return byNamespace ?? (namespace === "docker.io" ? this.settings.defaultProject : undefined);
    }
    const slash = name.indexOf("/");
    if (slash > 0 && (await this.projectExists(name.slice(0, slash)))) return undefined;
    return this.settings.defaultProject;
  }
}

/** "mirror.example:5443" → "mirror.example"; "[::1]:5443" → "::1". */
function hostName(host: string): string {
  const bracketed = /^\[(.+)\](?::\d+)?$/.exec(host);
  if (bracketed?.[1] !== undefined) return bracketed[1].toLowerCase();
  return host.replace(/:\d+$/, "").toLowerCase();
}
