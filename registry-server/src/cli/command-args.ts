// The command line's argument parsing, the same for every command: node's parseArgs, strict, with
// the command's usage in every error, and the flags that say how to reach a running registry.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { CommandError } from "./management-client.ts";

/** The flags of the commands that talk to a running registry (see managementTarget). */
export const CONNECTION_OPTIONS = {
  url: { type: "string" },
  username: { type: "string" },
  "password-file": { type: "string" },
  "ca-file": { type: "string" },
} as const;

/** Parses a command's arguments (positionals allowed); a bad flag is a usage error. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CommandError(`${(err as Error).message}\n\n${usage}`);
  }
}

/** True when the command was asked for help; its usage is then written to `out`. */
export function helpAsked(args: string[], usage: string, out: NodeJS.WritableStream): boolean {
  if (!args.includes("--help") && !args.includes("-h")) return false;
  out.write(usage);
  return true;
}
