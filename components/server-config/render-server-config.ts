// The one renderer of the server's configuration file: ServerSettings in, the file's object out
// (renderServerConfig) or its text under a header naming who wrote it (serverConfigText). Every
// target calls it: Kubernetes for its ConfigMap, AWS for the file its `prepare` container writes,
// the local target's provider when it starts the process. Pure, and over resolved values: a
// target with Pulumi Outputs among its settings resolves them once and renders inside `apply`.
//
// Only the sections that set something are written, in one fixed order, so that an unchanged
// deployment renders the same bytes (the local target records the file's hash to see edits; a
// ConfigMap's data change rolls the pods).
//
// No imports but types, and the YAML writer is passed in: the local target's dynamic provider
// calls this module and is serialised into the stack state with it (components/README.md).

import type { ServerConfigFile } from "./server-config-file";
import type { ServerSettings } from "./server-settings";

/** "host:port", with an IPv6 address in brackets. */
function address(listen: ServerSettings["listen"]): string {
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return `${host}:${listen.port}`;
}

function storageSection(storage: ServerSettings["storage"]): Pick<ServerConfigFile, "storage"> {
  if (storage.type === "filesystem") return {};
  // Credentials come from the environment or the AWS chain, never the file.
  return {
    storage: {
      s3: {
        bucket: storage.bucket,
        region: storage.region,
        ...(storage.endpoint !== undefined && { endpoint: storage.endpoint }),
        ...(storage.prefix !== undefined && { prefix: storage.prefix }),
        ...(storage.forcePathStyle !== undefined && { forcePathStyle: storage.forcePathStyle }),
        ...(storage.caFile !== undefined && { caFile: storage.caFile }),
      },
    },
  };
}

function metadataSection(metadata: ServerSettings["metadata"]): Pick<ServerConfigFile, "metadata"> {
  // SQLite lives under dataDir; a URL from AIRLOCK_DATABASE_URL turns PostgreSQL on by itself.
  if (metadata.type !== "postgres") return {};
  return {
    metadata: {
      postgres: {
        url: metadata.url,
        ...(metadata.passwordFile !== undefined && { passwordFile: metadata.passwordFile }),
        ...(metadata.maxConnections !== undefined && { maxConnections: metadata.maxConnections }),
      },
    },
  };
}

/** The configuration file's content: exactly the sections that apply. */
export function renderServerConfig(settings: ServerSettings): ServerConfigFile {
  const trustedProxies = settings.trustedProxies ?? [];
  return {
    http: {
      addr: address(settings.listen),
      tls: { certFile: settings.tls.certFile, keyFile: settings.tls.keyFile },
      ...(settings.shutdownTimeoutSeconds !== undefined && {
        shutdownTimeoutSeconds: settings.shutdownTimeoutSeconds,
      }),
      ...(trustedProxies.length > 0 && { trustedProxies }),
    },
    ...(settings.workers !== undefined && { workers: settings.workers }),
    dataDir: settings.dataDir,
    auth: {
      admin: {
        username: settings.admin.username,
        ...(settings.admin.passwordHash !== undefined && { passwordHash: settings.admin.passwordHash }),
      },
    },
    log: { level: settings.logLevel },
    ...(Object.keys(settings.upstream).length > 0 && { upstream: settings.upstream }),
    ...(Object.keys(settings.mirror).length > 0 && { mirror: settings.mirror }),
    ...storageSection(settings.storage),
    ...metadataSection(settings.metadata),
  };
}

/**
 * The configuration file's text: `# <header>` on the first line, then the YAML.
 * @param stringify the YAML writer (the `yaml` package's `stringify`), passed in so that this
 *   module imports nothing
 */
export function serverConfigText(
  settings: ServerSettings,
  header: string,
  stringify: (value: unknown) => string,
): string {
  return `# ${header}\n${stringify(renderServerConfig(settings))}`;
}
