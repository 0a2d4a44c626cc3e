// The server's configuration file as Pulumi writes it: the part of the server's schema
// (registry-server/src/config.ts `fileConfigSchema`, with storage/storage-config.ts and
// metadata/metadata-config.ts) that the deployment targets set, key for key. The Pulumi program
// cannot import the server's types (the root tsconfig does not type-check the server's
// `.ts`-suffixed imports), so this is the one hand-kept copy of those keys; the contract test
// (test/unit/server-config.test.ts) parses every rendered file with the server's own
// `parseFileConfig`, whose objects are strict: a key renamed on either side fails there.
//
// Types only: imported by the local target's dynamic provider (see server-settings.ts).

export interface ServerConfigFile {
  http: {
    /** "host:port", "[ipv6]:port". */
    addr: string;
    tls: { certFile: string; keyFile: string };
    shutdownTimeoutSeconds?: number;
    trustedProxies?: string[];
  };
  workers?: number;
  dataDir: string;
  auth: { admin: { username: string; passwordHash?: string } };
  log: { level: string };
  upstream?: {
    httpProxy?: string;
    httpsProxy?: string;
    noProxy?: string;
    timeoutSeconds?: number;
    healthCheckIntervalSeconds?: number;
  };
  mirror?: {
    defaultProject?: string;
    namespaces?: Record<string, string>;
    hosts?: Record<string, string>;
  };
  storage?: {
    s3: {
      bucket: string;
      region?: string;
      endpoint?: string;
      prefix?: string;
      forcePathStyle?: boolean;
      caFile?: string;
    };
  };
  metadata?: {
    postgres: { url: string; passwordFile?: string; maxConnections?: number };
  };
}
