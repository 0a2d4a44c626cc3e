// A TLS server certificate signed by a CertificateAuthority: ECDSA P-256, the given DNS names and
// IP addresses as subject alternative names, serverAuth only. It is replaced (re-issued) when
// its inputs change or when it comes within `renewBeforeDays` of expiry, so a `pulumi up` on a
// schedule keeps it valid.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../unknowns";

export interface TlsCertificateArgs {
  /** PEM certificate of the signing CA. */
  caCertPem: pulumi.Input<string>;
  /** PEM (PKCS#8) private key of the signing CA. */
  caKeyPem: pulumi.Input<string>;
  /** Subject common name; also added as a DNS name. */
  commonName: pulumi.Input<string>;
  /** DNS names the certificate is valid for. */
  dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** IP addresses the certificate is valid for. */
  ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** Validity in days. Default 397, the longest that browsers accept. */
  validityDays?: pulumi.Input<number>;
  /** Re-issue when fewer than this many days remain. Default 30. */
  renewBeforeDays?: pulumi.Input<number>;
}

interface CertInputs {
  caCertPem: string;
  caKeyPem: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  validityDays: number;
  renewBeforeDays: number;
}

interface CertOutputs extends CertInputs {
  certPem: string;
  keyPem: string;
  notAfter: string;
}

const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const DAY_MS = 24 * 60 * 60 * 1000;

export async function issueCertificate(inputs: CertInputs): Promise<CertOutputs> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded at run time by the provider */
  require("reflect-metadata"); // @peculiar/x509's dependency injection needs the Reflect API
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  const { webcrypto, randomBytes } = require("node:crypto") as typeof import("node:crypto");
  /* eslint-enable @typescript-eslint/no-require-imports */
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caCert = new x509.X509Certificate(inputs.caCertPem);
  const caKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(inputs.caKeyPem),
    algorithm,
    false,
    ["sign"],
  );
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 5 * 60 * 1000);
  const notAfter = new Date(Math.min(Date.now() + inputs.validityDays * DAY_MS, caCert.notAfter.getTime()));
  const dnsNames = [...new Set([inputs.commonName, ...inputs.dnsNames])].filter((name) => DNS_NAME.test(name));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "01" + randomBytes(15).toString("hex"),
    subject: [{ CN: [inputs.commonName] }],
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...inputs.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    ...inputs,
    certPem: cert.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
    notAfter: notAfter.toISOString(),
  };
}

/**
 * Validates the known inputs. In a preview the CA's certificate and key are unknown until the CA
 * exists (see ../unknowns.ts): unknown values, and unknown items of the lists, are passed on as
 * they are and checked once known.
 */
export function checkCertInputs(news: Record<string, unknown>): pulumi.dynamic.CheckResult<CertInputs> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
  const { isIP } = require("node:net") as typeof import("node:net");
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const strings = (key: string): string[] => {
    const value = news[key] ?? [];
    if (isUnknown(value)) return value as string[];
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
    fail(key, `expected a list of strings, got ${JSON.stringify(value)}`);
    return [];
  };
  const days = (key: string, fallback: number, max: number): number => {
    const value = news[key] ?? fallback;
    if (isUnknown(value)) return value as number;
    if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max) return value;
    fail(key, `expected a whole number of days from 0 to ${max}, got ${JSON.stringify(value)}`);
    return fallback;
  };
  const text = (key: string): string => {
    const value = news[key];
    return typeof value === "string" ? value : "";
  };
  const known = (value: unknown): boolean => !isUnknown(value);
  const inputs: CertInputs = {
    caCertPem: text("caCertPem"),
    caKeyPem: text("caKeyPem"),
    commonName: text("commonName"),
    dnsNames: strings("dnsNames"),
    ipAddresses: strings("ipAddresses"),
    validityDays: days("validityDays", 397, 3650),
    renewBeforeDays: days("renewBeforeDays", 30, 3650),
  };
  if (known(inputs.caCertPem) && !inputs.caCertPem.includes("BEGIN CERTIFICATE"))
    fail("caCertPem", "expected a PEM certificate");
  if (known(inputs.caKeyPem) && !inputs.caKeyPem.includes("PRIVATE KEY"))
    fail("caKeyPem", "expected a PEM private key");
  if (known(inputs.commonName) && !DNS_NAME.test(inputs.commonName))
    fail("commonName", `expected a DNS name, got ${JSON.stringify(inputs.commonName)}`);
  for (const name of known(inputs.dnsNames) ? inputs.dnsNames : [])
    if (known(name) && !DNS_NAME.test(name)) fail("dnsNames", `${JSON.stringify(name)} is not a DNS name`);
  for (const ip of known(inputs.ipAddresses) ? inputs.ipAddresses : [])
    if (known(ip) && isIP(ip) === 0) fail("ipAddresses", `${JSON.stringify(ip)} is not an IP address`);
  if (known(inputs.renewBeforeDays) && known(inputs.validityDays) && inputs.renewBeforeDays >= inputs.validityDays)
    fail("renewBeforeDays", "must be less than validityDays");
  return { inputs, failures };
}

export const tlsCertificateProvider: pulumi.dynamic.ResourceProvider<CertInputs, CertOutputs> = {
  async check(_olds, news) {
    return checkCertInputs(news as unknown as Record<string, unknown>);
  },
  async diff(_id, olds, news) {
    const keys = ["caCertPem", "caKeyPem", "commonName", "dnsNames", "ipAddresses", "validityDays"] as const;
    const replaces: string[] = keys.filter((key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]));
    // When renewBeforeDays is not known yet (a preview), neither is whether it is time to renew:
    // the certificate may be re-issued.
    const renewAt = Date.parse(olds.notAfter) - news.renewBeforeDays * DAY_MS;
    if (isUnknown(news.renewBeforeDays) || !(renewAt > Date.now())) replaces.push("notAfter");
    const changes = replaces.length > 0 || olds.renewBeforeDays !== news.renewBeforeDays;
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async create(inputs) {
    const outs = await issueCertificate(inputs);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
    const { X509Certificate } = require("node:crypto") as typeof import("node:crypto");
    return { id: new X509Certificate(outs.certPem).serialNumber.toLowerCase(), outs };
  },
  async update(_id, olds, news) {
    // Only renewBeforeDays can change in place: it decides when to re-issue, not what.
    return { outs: { ...olds, renewBeforeDays: news.renewBeforeDays } };
  },
};

/** A TLS server certificate and key signed by a CertificateAuthority. */
export class TlsCertificate extends pulumi.dynamic.Resource {
  declare readonly certPem: pulumi.Output<string>;
  declare readonly keyPem: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;

  constructor(name: string, args: TlsCertificateArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      tlsCertificateProvider,
      name,
      { ...args, certPem: undefined, keyPem: undefined, notAfter: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["keyPem", "caKeyPem"] }),
      "tls",
      "TlsCertificate",
    );
  }
}
