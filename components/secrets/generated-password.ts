// A random password generated once and kept in the (encrypted) stack state, for stacks that do
// not set one. A dynamic resource rather than @pulumi/random so the embedded default stack needs
// no provider plugin at all. Bump `version` to rotate it.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../unknowns";

export interface GeneratedPasswordArgs {
  /** Number of characters. Default 32, at least 16. */
  length?: pulumi.Input<number>;
  /** Change to generate a new password. */
  version?: pulumi.Input<number>;
}

interface PasswordInputs {
  length: number;
  version: number;
}

interface PasswordOutputs extends PasswordInputs {
  value: string;
}

/** Letters and digits only: safe in URLs, shells, YAML and basic-auth headers. */
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

function randomPassword(length: number): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
  const { randomInt } = require("node:crypto") as typeof import("node:crypto");
  return Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
}

export const generatedPasswordProvider: pulumi.dynamic.ResourceProvider<PasswordInputs, PasswordOutputs> = {
  async check(_olds, news) {
    const length = news.length ?? 32;
    const version = news.version ?? 1;
    const failures: pulumi.dynamic.CheckFailure[] = [];
    // Unknown values (in a preview, see ../unknowns.ts) are passed on unchecked.
    if (!isUnknown(length) && (!Number.isInteger(length) || length < 16 || length > 256)) {
      failures.push({
        property: "length",
        reason: `expected a whole number from 16 to 256, got ${JSON.stringify(length)}`,
      });
    }
    if (!isUnknown(version) && !Number.isInteger(version))
      failures.push({ property: "version", reason: "expected a whole number" });
    return { inputs: { length, version }, failures };
  },
  async diff(_id, olds, news) {
    const replaces = (["length", "version"] as const).filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0, replaces };
  },
  async create(inputs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: { ...inputs, value: randomPassword(inputs.length) } };
  },
};

/** A random password, stored only as a secret in the stack state. */
export class GeneratedPassword extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<string>;

  constructor(name: string, args: GeneratedPasswordArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      generatedPasswordProvider,
      name,
      { ...args, value: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["value"] }),
      "secrets",
      "GeneratedPassword",
    );
  }
}
