// `airlock:local`: the embedded default target, the bundled server as a process on this machine.

import { isIP } from "node:net";
import { z } from "zod";
import { LOG_LEVELS, dnsName } from "./schema-parts";

export const localTargetSchema = z.strictObject({
  /** Port the registry listens on. */
  port: z
    .number()
    .int("expected a whole number")
    .min(1, "expected a port from 1 to 65535")
    .max(65535, "expected a port from 1 to 65535")
    .default(5443),
  /** Address to listen on: loopback by default; 0.0.0.0 serves other machines. */
  bindAddress: z
    .string()
    .refine((value) => isIP(value) !== 0, "expected an IP address")
    .default("127.0.0.1"),
  /** DNS names clients use besides localhost; added to the server certificate. */
  hostnames: z.array(dnsName).default([]),
  /** Configuration, TLS files and logs. Default `.airlock/<stack>` in the project. */
  stateDir: z.string().min(1).optional(),
  /** Registry content. Default `<stateDir>/data`. */
  dataDir: z.string().min(1).optional(),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /** Delete content and state on `pulumi destroy`. Default false: they are kept. */
  removeDataOnDestroy: z.boolean().default(false),
});
