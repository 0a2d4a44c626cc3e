// An external scanner adapter registered with the registry (Harbor's `/scanners`): an
// implementation of Harbor's pluggable scanner API (harbor-scanner-trivy, Clair's adapter…) the
// registry sends artifacts to. The registry pings the adapter before it registers it, so the
// adapter must answer at `up`. The access credential is write-only (the registry answers "" for
// it): the secret kept in the state stands for it, and a rotation made outside Pulumi is pushed
// again by changing `credentialVersion`, as for robot secrets. `read` reports everything else
// (name, URL, description, auth scheme, TLS and address choices, disabled, and whether it is the
// default when declared so), so `pulumi refresh` shows changes made by hand. The registration's
// id is its UUID; an existing registration of the same name is taken over with `adopt`.
//
// Harbor cannot make a scanner "not the default" (only make another the default), so
// `isDefault: false` leaves that choice to others and is never drift.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, expectStatus, readInputs, registryApiError, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

/** The adapter's authentication schemes, as Harbor names them. */
export const SCANNER_AUTH_TYPES = ["Basic", "Bearer", "X-ScannerAdapter-API-Key"] as const;
export type ScannerAuth = (typeof SCANNER_AUTH_TYPES)[number];

export interface ScannerArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The registration's name, unique in the registry ("Trivy" is the built-in scanner's). */
  name: pulumi.Input<string>;
  /** The adapter's base URL, e.g. http://harbor-scanner-trivy:8080. */
  url: pulumi.Input<string>;
  /** Free text shown in the registry. Default empty. */
  description?: pulumi.Input<string>;
  /** How the registry authenticates to the adapter. Left out, it sends no credential. */
  auth?: pulumi.Input<ScannerAuth>;
  /**
   * The credential for `auth` (Basic: base64 of user:password; Bearer: a token; API key: the
   * key). Write-only: the registry never shows it again.
   */
  accessCredential?: pulumi.Input<string>;
  /** Change to send the credential again (after it was rotated outside Pulumi). */
  credentialVersion?: pulumi.Input<number>;
  /** Skip verification of the adapter's TLS certificate. Default false. */
  skipCertVerify?: pulumi.Input<boolean>;
  /** The adapter reaches the registry through its internal address. Default false. */
  useInternalAddr?: pulumi.Input<boolean>;
  /** Make it the registry's default scanner (and keep it so). Default false: left to others. */
  isDefault?: pulumi.Input<boolean>;
  /** A disabled scanner scans nothing (the default one cannot be disabled). Default false. */
  disabled?: pulumi.Input<boolean>;
  /** Take over a registration that already exists with this name instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

export interface ScannerInputs {
  connection: RegistryConnection;
  name: string;
  url: string;
  description: string;
  /** "" for none. */
  auth: ScannerAuth | "";
  accessCredential?: string;
  credentialVersion: number;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  isDefault: boolean;
  disabled: boolean;
  adopt: boolean;
}

export interface ScannerOutputs extends ScannerInputs {
  uuid: string;
}

type Fail = (property: string, reason: string) => void;

/** An adapter URL as the registry keeps it: http:// when no scheme is written, no trailing slash. */
export function normaliseAdapterUrl(value: string): string | undefined {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.hostname === "" || url.search || url.hash || url.username || url.password) return undefined;
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * Validates the known inputs and normalises them as the registry keeps them; unknowns are passed
 * on (../unknowns.ts). Exported for the stack configuration's schema.
 */
export function checkScanner(news: Record<string, unknown>, fail: Fail): ScannerInputs {
  const name = keepUnknown(news["name"], (value) => {
    if (typeof value !== "string" || value.trim() === "" || value.trim() !== value || value.length > 128)
      fail("name", `expected a name of 1 to 128 characters without surrounding spaces, got ${JSON.stringify(value)}`);
    return String(value);
  });
  const url = keepUnknown(news["url"], (value) => {
    const normalised = typeof value === "string" ? normaliseAdapterUrl(value.trim()) : undefined;
    if (normalised === undefined || normalised.length > 512)
      fail("url", `expected an http(s) URL without credentials, query or fragment, got ${JSON.stringify(value)}`);
    return normalised ?? String(value);
  });
  const description = keepUnknown(news["description"] ?? "", (value) => {
    if (typeof value !== "string" || value.length > 1024) fail("description", "expected at most 1024 characters");
    return String(value);
  });
  const auth = keepUnknown(news["auth"] ?? "", (value) => {
    if (value === "" || value === "none") return "" as const;
    const found = SCANNER_AUTH_TYPES.find((type) => type.toLowerCase() === String(value).toLowerCase());
    if (!found) fail("auth", `expected one of ${SCANNER_AUTH_TYPES.join(", ")}, got ${JSON.stringify(value)}`);
    return found ?? "";
  });
  const credential = news["accessCredential"];
  if (credential !== undefined && !isUnknown(credential)) {
    // It becomes an HTTP header: no control characters. Never echoed.
    // eslint-disable-next-line no-control-regex
    if (typeof credential !== "string" || credential === "" || /[\u0000-\u001f\u007f]/.test(credential))
      fail("accessCredential", "expected a non-empty credential without control characters");
  }
  if (!isUnknown(auth) && !isUnknown(credential)) {
    if (auth !== "" && credential === undefined) fail("accessCredential", `auth ${auth} needs an accessCredential`);
    if (auth === "" && credential !== undefined) fail("auth", "an accessCredential needs an auth scheme");
  }
  const version = news["credentialVersion"] ?? 0;
  if (!isUnknown(version) && (typeof version !== "number" || !Number.isInteger(version) || version < 0)) {
    fail("credentialVersion", `expected a whole number from 0, got ${JSON.stringify(version)}`);
  }
  const flag = (key: string): boolean =>
    keepUnknown(news[key] ?? false, (value) => {
      if (typeof value !== "boolean") fail(key, `expected true or false, got ${JSON.stringify(value)}`);
      return value === true;
    });
  const inputs: ScannerInputs = {
    connection: news["connection"] as RegistryConnection,
    name,
    url,
    description,
    auth,
    ...(credential !== undefined && { accessCredential: credential as string }),
    credentialVersion: version as number,
    skipCertVerify: flag("skipCertVerify"),
    useInternalAddr: flag("useInternalAddr"),
    isDefault: flag("isDefault"),
    disabled: flag("disabled"),
    adopt: flag("adopt"),
  };
  if (inputs.isDefault === true && inputs.disabled === true) fail("disabled", "the default scanner cannot be disabled");
  return inputs;
}

/** Harbor's ScannerRegistrationReq; the credential only when it is to be (re)sent. */
export function scannerBody(inputs: ScannerInputs, sendCredential: boolean): Record<string, unknown> {
  return {
    name: inputs.name,
    url: inputs.url,
    description: inputs.description,
    auth: inputs.auth,
    access_credential: sendCredential ? (inputs.accessCredential ?? "") : "",
    skip_certVerify: inputs.skipCertVerify,
    use_internal_addr: inputs.useInternalAddr,
    disabled: inputs.disabled,
  };
}

/** Harbor's ScannerRegistration, as the inputs say it; the credential is the one in the state. */
export function scannerFromHarbor(props: ScannerInputs, live: Record<string, unknown>): ScannerInputs {
  const auth = SCANNER_AUTH_TYPES.find((type) => type === live["auth"]) ?? "";
  const text = (key: string): string => {
    const value = live[key];
    return typeof value === "string" ? value : "";
  };
  return {
    ...props,
    name: text("name"),
    url: text("url"),
    description: text("description"),
    auth,
    skipCertVerify: live["skip_certVerify"] === true,
    useInternalAddr: live["use_internal_addr"] === true,
    // Declared the default: another made the default by hand shows. Not declared: not managed.
    isDefault: props.isDefault && live["is_default"] === true,
    disabled: live["disabled"] === true,
  };
}

const DIFF_KEYS = [
  "name",
  "url",
  "description",
  "auth",
  "accessCredential",
  "credentialVersion",
  "skipCertVerify",
  "useInternalAddr",
  "isDefault",
  "disabled",
] as const;

/** The UUID at the end of a 201's Location header. */
function createdUuid(headers: Record<string, string | string[] | undefined>, what: string): string {
  const location = headers["location"];
  const uuid = String(Array.isArray(location) ? location[0] : location)
    .split("/")
    .pop();
  if (!uuid || !/^[0-9a-f-]{8,}$/i.test(uuid)) throw registryApiError(`${what}: no id in the Location header`, 201);
  return uuid;
}

async function makeDefault(connection: RegistryConnection, uuid: string, name: string): Promise<void> {
  const reply = await apiRequest(connection, "PATCH", `/scanners/${uuid}`, { is_default: true });
  expectStatus(reply, `making scanner ${name} the default`, 200);
}

export const scannerProvider: pulumi.dynamic.ResourceProvider<ScannerInputs, ScannerOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs = checkScanner(news as unknown as Record<string, unknown>, (property, reason) =>
      failures.push({ property, reason }),
    );
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    const changes =
      DIFF_KEYS.some((key) => olds[key] !== news[key]) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs) {
    const what = `registering scanner ${inputs.name}`;
    const reply = await apiRequest(inputs.connection, "POST", "/scanners", scannerBody(inputs, true));
    let uuid: string;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(inputs.connection, "GET", `/scanners?q=${encodeURIComponent(`name=${inputs.name}`)}`),
        `adopting scanner ${inputs.name}`,
        200,
      );
      const found = (list.body as Array<{ uuid: string; name: string }>).find((s) => s.name === inputs.name);
      if (!found) throw new Error(`adopting scanner ${inputs.name}: not found`);
      uuid = found.uuid;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/scanners/${uuid}`, scannerBody(inputs, true)),
        `adopting scanner ${inputs.name}`,
        200,
      );
    } else {
      if (reply.status === 409) expectStatus(reply, `${what} (it exists: set adopt to take it over)`, 201);
      uuid = createdUuid(expectStatus(reply, what, 201).headers, what);
    }
    if (inputs.isDefault) await makeDefault(inputs.connection, uuid, inputs.name);
    return { id: uuid, outs: { ...inputs, uuid } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(props.connection, "GET", `/scanners/${encodeURIComponent(id)}`);
    if (reply.status === 404) return { id: "", props };
    expectStatus(reply, `reading scanner ${props.name}`, 200);
    // The inputs are the state without its output.
    const { uuid: _uuid, ...state } = props;
    const inputs = scannerFromHarbor(state, reply.body as Record<string, unknown>);
    return { id, props: { ...inputs, uuid: id }, inputs: readInputs<ScannerOutputs>(inputs) };
  },

  async update(id, olds, news) {
    const resend =
      olds.credentialVersion !== news.credentialVersion ||
      olds.accessCredential !== news.accessCredential ||
      olds.auth !== news.auth;
    expectStatus(
      await apiRequest(news.connection, "PUT", `/scanners/${encodeURIComponent(id)}`, scannerBody(news, resend)),
      `updating scanner ${news.name}`,
      200,
    );
    if (news.isDefault) await makeDefault(news.connection, id, news.name);
    return { outs: { ...news, uuid: id } };
  },

  async delete(id, props) {
    const reply = await apiRequest(props.connection, "DELETE", `/scanners/${encodeURIComponent(id)}`);
    expectStatus(reply, `deleting scanner ${props.name}`, 200, 404);
  },
};

/** The provider, recording which stack declared the Scanner (./declaration.ts). */
const declaredScannerProvider = declaredProvider("scanner", (outs) => outs.name, scannerProvider);

/** An external scanner adapter registered with the registry. */
export class Scanner extends pulumi.dynamic.Resource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: ScannerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredScannerProvider,
      name,
      {
        declaration: declaredBy(name, "Scanner", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        ...(args.accessCredential !== undefined && { accessCredential: pulumi.secret(args.accessCredential) }),
        uuid: undefined,
      },
      { ...opts, additionalSecretOutputs: ["accessCredential", ...(opts?.additionalSecretOutputs ?? [])] },
      "registry",
      "Scanner",
    );
  }
}
