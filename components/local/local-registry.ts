// The embedded default deployment: the bundled registry server as one process on this machine,
// with filesystem storage under a state directory and TLS from a CA generated for the stack.

import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { GeneratedPassword } from "../secrets/generated-password";
import { CertificateAuthority } from "../tls/certificate-authority";
import { TlsCertificate } from "../tls/tls-certificate";
import type { RegistryConnection } from "../registry/api-client";
import type { MirrorSettings, UpstreamSettings } from "../server-config/server-settings";
import { serverEntryPoint } from "./server-entry";
import { ServerProcess } from "./server-process";

export interface LocalRegistryArgs {
  /** Port to listen on. */
  port: pulumi.Input<number>;
  /** Address to listen on. Default 127.0.0.1; use 0.0.0.0 to serve other machines. */
  bindAddress?: pulumi.Input<string>;
  /** Extra DNS names clients use to reach the registry; added to the certificate. */
  hostnames?: pulumi.Input<pulumi.Input<string>[]>;
  /** Where configuration, TLS files, logs and (unless dataDir is set) content live. */
  stateDir: pulumi.Input<string>;
  /** Where the registry's content lives. Default `<stateDir>/data`. */
  dataDir?: pulumi.Input<string>;
  /** Admin user name. Default "admin". */
  adminUsername?: pulumi.Input<string>;
  /** Admin password; generated (and kept secret in the state) when not given. */
  adminPassword?: pulumi.Input<string>;
  /** Server log level. Default "info". */
  logLevel?: pulumi.Input<string>;
  /** Delete the content and state directories on destroy. Default false: they are kept. */
  removeDataOnDestroy?: pulumi.Input<boolean>;
  /** Node.js binary to run the server with. Default: the one running this program. */
  nodePath?: pulumi.Input<string>;
  /** Egress towards upstream registries: the corporate HTTP(S) proxy, timeouts. */
  upstream?: pulumi.Input<UpstreamSettings>;
  /** Transparent mirror routing of pulls without a project prefix to proxy-cache projects. */
  mirror?: pulumi.Input<MirrorSettings>;
}

export class LocalRegistry extends pulumi.ComponentResource {
  /** Base URL of the registry, e.g. https://localhost:5443. */
  public readonly url: pulumi.Output<string>;
  /** PEM certificate of the CA that signed the server certificate: what clients must trust. */
  public readonly caCertPem: pulumi.Output<string>;
  public readonly adminUsername: pulumi.Output<string>;
  public readonly adminPassword: pulumi.Output<string>;
  /** Process id of the running server. */
  public readonly pid: pulumi.Output<number>;
  public readonly dataDir: pulumi.Output<string>;
  public readonly logFile: pulumi.Output<string>;
  /** What the registry resources (Project, RobotAccount…) need to manage this registry; a secret. */
  public readonly connection: pulumi.Output<RegistryConnection>;

  constructor(name: string, args: LocalRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:local:LocalRegistry", name, {}, opts);

    const bindAddress = pulumi.output(args.bindAddress ?? "127.0.0.1");
    const hostnames = pulumi.output(args.hostnames ?? []);
    const stateDir = pulumi.output(args.stateDir).apply((dir) => path.resolve(dir));
    const dataDir = pulumi
      .all([args.dataDir, stateDir])
      .apply(([dir, state]) => path.resolve(dir ?? path.join(state, "data")));

    const ca = new CertificateAuthority(`${name}-ca`, { commonName: `${name} local registry CA` }, { parent: this });
    const certificate = new TlsCertificate(
      `${name}-tls`,
      {
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        commonName: "localhost",
        dnsNames: hostnames,
        ipAddresses: bindAddress.apply((address) => [
          ...new Set(["127.0.0.1", "::1", ...(["0.0.0.0", "::"].includes(address) ? [] : [address])]),
        ]),
      },
      { parent: this },
    );

    const adminPassword = args.adminPassword
      ? pulumi.secret(args.adminPassword)
      : new GeneratedPassword(`${name}-admin-password`, {}, { parent: this }).value;
    const adminUsername = pulumi.output(args.adminUsername ?? "admin");

    const server = new ServerProcess(
      `${name}-server`,
      {
        nodePath: args.nodePath ?? process.execPath,
        serverEntry: serverEntryPoint(__filename),
        stateDir,
        dataDir,
        bindAddress,
        port: args.port,
        healthCheckHost: "localhost",
        tlsCertPem: certificate.certPem,
        tlsKeyPem: certificate.keyPem,
        caCertPem: ca.certPem,
        adminUsername,
        adminPassword,
        logLevel: args.logLevel ?? "info",
        removeDataOnDelete: args.removeDataOnDestroy ?? false,
        upstream: args.upstream ?? {},
        mirror: args.mirror ?? {},
      },
      { parent: this },
    );

    this.url = pulumi.all([bindAddress, args.port, hostnames]).apply(([address, port, names]) => {
      const loopbackOrAny = ["127.0.0.1", "::1", "0.0.0.0", "::"].includes(address);
      const host = loopbackOrAny ? (names[0] ?? "localhost") : address.includes(":") ? `[${address}]` : address;
      return `https://${host}:${port}`;
    });
    this.caCertPem = ca.certPem;
    this.adminUsername = adminUsername;
    this.adminPassword = pulumi.secret(adminPassword);
    this.pid = server.pid;
    this.dataDir = dataDir;
    this.logFile = stateDir.apply((dir) => path.join(dir, "server.log"));
    // Depends on the server's pid so that nothing calls the API before the server is up.
    this.connection = pulumi.secret(
      pulumi
        .all([this.url, adminUsername, adminPassword, ca.certPem, server.pid])
        .apply(([url, username, password, caPem]) => ({ url, username, password, caPem })),
    );

    this.registerOutputs({
      url: this.url,
      caCertPem: this.caCertPem,
      adminUsername: this.adminUsername,
      adminPassword: this.adminPassword,
      pid: this.pid,
      dataDir: this.dataDir,
      logFile: this.logFile,
      connection: this.connection,
    });
  }
}
