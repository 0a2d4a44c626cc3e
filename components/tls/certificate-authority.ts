// A private certificate authority generated inside Pulumi: an ECDSA P-256 key and a self-signed
// CA certificate, made with @peculiar/x509 over Node's WebCrypto. The key is a secret output.
// Nothing here calls out: the material lives in the (encrypted) stack state only.
//
// Dynamic provider rules apply (see components/README.md): the provider is serialised into the
// state, so it requires its libraries inside its methods and captures nothing else.

import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../unknowns";

export interface CertificateAuthorityArgs {
  /** Subject common name of the CA certificate. */
  commonName: pulumi.Input<string>;
  /** How long the CA certificate is valid, in days. Default 3650. */
  validityDays?: pulumi.Input<number>;
}

interface CaInputs {
  commonName: string;
  validityDays: number;
}

interface CaOutputs extends CaInputs {
  certPem: string;
  keyPem: string;
  notAfter: string;
  sha256Fingerprint: string;
}

const DEFAULT_VALIDITY_DAYS = 3650;

export async function generateCa(inputs: CaInputs): Promise<CaOutputs> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded at run time by the provider */
  require("reflect-metadata"); // @peculiar/x509's dependency injection needs the Reflect API
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  const { webcrypto, randomBytes, createHash } = require("node:crypto") as typeof import("node:crypto");
  /* eslint-enable @typescript-eslint/no-require-imports */
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 5 * 60 * 1000);
  const notAfter = new Date(Date.now() + inputs.validityDays * 24 * 60 * 60 * 1000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01" + randomBytes(15).toString("hex"),
    name: [{ CN: [inputs.commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    ...inputs,
    certPem: cert.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
    notAfter: notAfter.toISOString(),
    sha256Fingerprint: createHash("sha256").update(Buffer.from(cert.rawData)).digest("hex"),
  };
}

/** Validates the known inputs; unknown ones (in a preview) are passed on as they are. */
export function checkCaInputs(news: Record<string, unknown>): pulumi.dynamic.CheckResult<CaInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const commonName = news["commonName"];
  const validityDays = news["validityDays"] ?? DEFAULT_VALIDITY_DAYS;
  if (
    !isUnknown(commonName) &&
    (typeof commonName !== "string" || commonName.trim() === "" || commonName.length > 64)
  ) {
    failures.push({ property: "commonName", reason: "expected a non-empty string of at most 64 characters" });
  }
  if (
    !isUnknown(validityDays) &&
    (typeof validityDays !== "number" || !Number.isInteger(validityDays) || validityDays < 1 || validityDays > 36500)
  ) {
    failures.push({
      property: "validityDays",
      reason: `expected a whole number of days from 1 to 36500, got ${JSON.stringify(validityDays)}`,
    });
  }
  return { inputs: { commonName: commonName as string, validityDays: validityDays as number }, failures };
}

const certificateAuthorityProvider: pulumi.dynamic.ResourceProvider<CaInputs, CaOutputs> = {
  async check(_olds, news) {
    return checkCaInputs(news as unknown as Record<string, unknown>);
  },
  async diff(_id, olds, news) {
    const replaces = (["commonName", "validityDays"] as const).filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(inputs) {
    const outs = await generateCa(inputs);
    return { id: outs.sha256Fingerprint, outs };
  },
};

/** A self-signed certificate authority for the registry's TLS certificates. */
export class CertificateAuthority extends pulumi.dynamic.Resource {
  declare readonly certPem: pulumi.Output<string>;
  declare readonly keyPem: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  declare readonly sha256Fingerprint: pulumi.Output<string>;

  constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      certificateAuthorityProvider,
      name,
      { ...args, certPem: undefined, keyPem: undefined, notAfter: undefined, sha256Fingerprint: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["keyPem"] }),
      "tls",
      "CertificateAuthority",
    );
  }
}
