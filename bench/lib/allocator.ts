// The allocator Airlock's processes run with, as the local target and the image start them:
// jemalloc where the machine has it (components/local/server-allocator.ts says why). A copy, as
// the benchmark runs as ES modules and the components as CommonJS; a unit test
// (test/unit/server-entry.test.ts) keeps the two the same.

import { existsSync } from "node:fs";

export const SERVER_MALLOC_CONF = "background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";

export const JEMALLOC_LIBRARIES = [
  "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
  "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
  "/usr/lib64/libjemalloc.so.2",
  "/usr/lib/libjemalloc.so.2",
  "/usr/local/lib/libjemalloc.so.2",
];

/** LD_PRELOAD and MALLOC_CONF for jemalloc when this machine has it; nothing otherwise. */
export function allocatorEnvironment(): Record<string, string> {
  const library = JEMALLOC_LIBRARIES.find((candidate) => existsSync(candidate));
  return library === undefined ? {} : { LD_PRELOAD: library, MALLOC_CONF: SERVER_MALLOC_CONF };
}
