// A registry credential (typically a robot account) made usable by a Kubernetes cluster: a
// `kubernetes.io/dockerconfigjson` Secret in each given namespace, attached to the namespace's
// `default` ServiceAccount, which is what the DMZ guide does by hand with
// `kubectl create secret docker-registry` and `kubectl patch serviceaccount default`.
// When the robot's secret rotates (`secretVersion`), every Secret follows on the next `up`:
// in place when the Kubernetes provider has `enableSecretMutable: true`; otherwise
// pulumi-kubernetes replaces each Secret (deleted, then created again under the same name).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryPullSecretArgs {
  /**
   * The registry as image references name it: `host` or `host:port` (e.g.
   * `registry.example.com`, `localhost:5443`). A URL such as `https://registry.example.com` is
   * accepted and reduced to its host; a path is refused, since the kubelet matches credentials
   * by host.
   */
  registry: pulumi.Input<string>;
  /** The name to log in with, e.g. a robot's full name `robot$production+nodes` (`RobotAccount.fullName`). */
  robotName: pulumi.Input<string>;
  /** The secret to log in with (`RobotAccount.robotSecret`); it stays a secret in the state. */
  robotSecret: pulumi.Input<string>;
  /**
   * The namespaces to create the Secret in. They must exist already. Known when the program
   * runs, since each namespace gets its own resources.
   */
  namespaces: string[];
  /** Name of the Secret in every namespace. Default `airlock-pull-secret`. */
  secretName?: string;
  /**
   * Make the Secret the `imagePullSecrets` of each namespace's `default` ServiceAccount, through a
   * server-side apply patch. The list is one field as far as Kubernetes is concerned (atomic):
   * the patch sets it to this Secret alone, and `destroy` gives the field up again. Default true.
   */
  attachToDefaultServiceAccount?: boolean;
  /**
   * Take the `default` ServiceAccount's `imagePullSecrets` over even when another field manager
   * (say a `kubectl patch` made by hand) set them, instead of failing with a conflict that names
   * it. Default false.
   */
  forceServiceAccountPatch?: boolean;
}

/** The Secret's name when `secretName` is not given. */
export const DEFAULT_PULL_SECRET_NAME = "airlock-pull-secret";

/** A namespace name: an RFC 1123 label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Secret name: an RFC 1123 subdomain. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** host or host:port, host a DNS name, an IPv4 address or a bracketed IPv6 address. */
const REGISTRY_HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)(:\d{1,5})?$/i;

/**
 * Checks the arguments known when the program runs; throws an Error listing every problem.
 * Returns the Secret's name.
 */
export function validatePullSecretArgs(args: Pick<RegistryPullSecretArgs, "namespaces" | "secretName">): string {
  const problems: string[] = [];
  if (args.namespaces.length === 0) problems.push("namespaces: expected at least one namespace");
  for (const namespace of args.namespaces) {
    if (!DNS_LABEL.test(namespace))
      problems.push(`namespaces: ${JSON.stringify(namespace)} is not a namespace name (an RFC 1123 label)`);
  }
  const seen = new Set<string>();
  for (const namespace of args.namespaces) {
    if (seen.has(namespace)) problems.push(`namespaces: ${JSON.stringify(namespace)} is listed twice`);
    seen.add(namespace);
  }
  const secretName = args.secretName ?? DEFAULT_PULL_SECRET_NAME;
  if (!DNS_SUBDOMAIN.test(secretName))
    problems.push(`secretName: ${JSON.stringify(secretName)} is not a Secret name (an RFC 1123 subdomain)`);
  if (problems.length > 0) throw new Error(`RegistryPullSecret: ${problems.join("; ")}`);
  return secretName;
}

/**
 * The registry's key in a Docker config: `host[:port]`, from that or from an http(s) URL without
 * a path. Throws on anything else.
 */
export function registryHost(registry: string): string {
  let host = registry.trim();
  const scheme = /^(https?):\/\//i.exec(host);
  if (scheme) {
    const url = new URL(host);
    if (url.pathname !== "/" || url.search || url.hash || url.username || url.password)
      throw new Error(`RegistryPullSecret: registry ${JSON.stringify(registry)} must be a host, not a path`);
    host = url.host;
  }
  if (!REGISTRY_HOST.test(host))
    throw new Error(`RegistryPullSecret: registry ${JSON.stringify(registry)} is not host or host:port`);
  return host.toLowerCase();
}

/**
 * The content of `.dockerconfigjson`, as `kubectl create secret docker-registry` writes it:
 * `auths[host]` with the username, the password and `auth` = base64("username:password").
 */
export function dockerConfigJson(registry: string, username: string, password: string): string {
  if (username === "" || username.includes(":"))
    throw new Error("RegistryPullSecret: robotName must be non-empty and contain no colon");
  if (password === "") throw new Error("RegistryPullSecret: robotSecret must be non-empty");
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [registryHost(registry)]: { username, password, auth } } });
}

export class RegistryPullSecret extends pulumi.ComponentResource {
  /** Name of the Secret, the same in every namespace. */
  public readonly secretName: pulumi.Output<string>;
  /** The namespaces that hold the Secret. */
  public readonly namespaces: string[];
  /** The Secrets, one per namespace in the order given: for `dependsOn` from workloads. */
  public readonly secrets: k8s.core.v1.Secret[];
  /** The patches of the `default` ServiceAccounts (none when attachToDefaultServiceAccount is false). */
  public readonly serviceAccountPatches: k8s.core.v1.ServiceAccountPatch[];

  constructor(name: string, args: RegistryPullSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:kubernetes:RegistryPullSecret", name, {}, opts);
    const secretName = validatePullSecretArgs(args);
    // A registry known now is checked now; an Output is checked once it resolves.
    if (typeof args.registry === "string") registryHost(args.registry);

    // Base64 of the JSON: what `kubectl create secret docker-registry` stores under `data`.
    const encoded = pulumi.secret(
      pulumi
        .all([args.registry, args.robotName, args.robotSecret])
        .apply(([registry, username, password]) =>
          Buffer.from(dockerConfigJson(registry, username, password)).toString("base64"),
        ),
    );

    this.namespaces = [...args.namespaces];
    this.secrets = [];
    this.serviceAccountPatches = [];
    for (const namespace of this.namespaces) {
      const secret = new k8s.core.v1.Secret(
        `${name}-${namespace}`,
        {
          metadata: {
            name: secretName,
            namespace,
            labels: { "app.kubernetes.io/managed-by": "airlock" },
          },
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": encoded },
        },
        { parent: this },
      );
      this.secrets.push(secret);

      if (args.attachToDefaultServiceAccount ?? true) {
        this.serviceAccountPatches.push(
          new k8s.core.v1.ServiceAccountPatch(
            `${name}-${namespace}-default-sa`,
            {
              metadata: {
                name: "default",
                namespace,
                ...(args.forceServiceAccountPatch && { annotations: { "pulumi.com/patchForce": "true" } }),
              },
              // The Secret's own output, so that the patch waits for the Secret to exist.
              imagePullSecrets: [{ name: secret.metadata.name }],
            },
            { parent: this },
          ),
        );
      }
    }

    this.secretName = pulumi.output(secretName);
    this.registerOutputs({ secretName: this.secretName, namespaces: this.namespaces });
  }
}
