// The registry server's own keys, generated once and kept in the (encrypted) stack state: the
// ES256 key that signs its bearer tokens and the AES-256 key that seals upstream credentials at
// rest. The server creates them in `<dataDir>/auth/` when they are missing; replicas that share no
// volume (S3 storage) must be handed the same pair instead, or a token issued by one replica
// would be refused by the next and a credential sealed by one unreadable by the others. The
// files are written in the server's formats (registry-server/src/auth/): a PKCS#8 PEM and 32
// bytes of base64. Bump `version` to rotate both (outstanding tokens and sealed credentials are
// then lost: set the upstream credentials again with their credentialVersion).
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../unknowns";

export interface ServerKeysArgs {
  /** Change to generate new keys. */
  version?: pulumi.Input<number>;
}

interface KeysInputs {
  version: number;
}

interface KeysOutputs extends KeysInputs {
  /** `token-signing-key.pem`: an EC P-256 private key, PKCS#8 PEM. */
  tokenSigningKeyPem: string;
  /** `secret-box.key`: 32 random bytes, base64, with a newline. */
  secretBoxKey: string;
}

/** The file names the server reads in `<dataDir>/auth/`. */
export const SERVER_KEY_FILES = {
  tokenSigningKey: "token-signing-key.pem",
  secretBoxKey: "secret-box.key",
} as const;

export function generateServerKeys(version: number): KeysOutputs {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
  const { generateKeyPairSync, randomBytes } = require("node:crypto") as typeof import("node:crypto");
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    version,
    tokenSigningKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    secretBoxKey: `${randomBytes(32).toString("base64")}\n`,
  };
}

export const serverKeysProvider: pulumi.dynamic.ResourceProvider<KeysInputs, KeysOutputs> = {
  async check(_olds, news) {
    const version = news.version ?? 1;
    const failures: pulumi.dynamic.CheckFailure[] = [];
    // Unknown values (in a preview, see ../unknowns.ts) are passed on unchecked.
    if (!isUnknown(version) && !Number.isInteger(version))
      failures.push({ property: "version", reason: "expected a whole number" });
    return { inputs: { version }, failures };
  },
  async diff(_id, olds, news) {
    const changed = olds.version !== news.version;
    return { changes: changed, replaces: changed ? ["version"] : [] };
  },
  async create(inputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: generateServerKeys(inputs.version) };
  },
};

/** The server's token signing and secret-sealing keys, stored only as secrets in the stack state. */
export class ServerKeys extends pulumi.dynamic.Resource {
  declare readonly tokenSigningKeyPem: pulumi.Output<string>;
  declare readonly secretBoxKey: pulumi.Output<string>;

  constructor(name: string, args: ServerKeysArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      serverKeysProvider,
      name,
      { ...args, tokenSigningKeyPem: undefined, secretBoxKey: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["tokenSigningKeyPem", "secretBoxKey"] }),
      "secrets",
      "ServerKeys",
    );
  }
}
