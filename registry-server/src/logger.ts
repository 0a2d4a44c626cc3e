// Structured JSON logs on stdout (one object per line), through pino. Credentials never reach a
// log line: request logging records method, path, status and timing, never headers or bodies,
// and the paths below are redacted should anything pass them in by mistake.

import { pino, type Logger } from "pino";
import type { LOG_LEVELS } from "./config.ts";

export type { Logger };

export function createLogger(level: (typeof LOG_LEVELS)[number], destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "airlock-registry" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ["password", "*.password", "authorization", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
    },
    destination ?? process.stdout,
  );
}
