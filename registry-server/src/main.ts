#!/usr/bin/env node
// The airlock-registry executable: turns on Node's compile cache, then runs the command line
// (cli.ts). Node strips the types of each .ts module with a WebAssembly build of SWC that then
// stays in the process, ~30 MiB of every registry process, workers included, for nothing after
// start-up; with the compile cache, the stripped and compiled modules are read back from disk, the
// stripper is never loaded, and a process starts faster. This file imports nothing of ours
// statically: every module a file imports is loaded, types stripped, before its first line runs.
//
// This file itself is stripped before it can turn the cache on, so the stripper still loads in
// the process started by hand (~15 MiB saved there, not 30) unless NODE_COMPILE_CACHE is in its
// environment already, as the local target starts it; the worker processes, forked with
// NODE_COMPILE_CACHE in their environment, have the cache from their first module on.
//
// The cache lives in the user's cache directory (NODE_COMPILE_CACHE overrides it), not in a
// shared temporary directory where another user could plant entries. Where it cannot be written
// (a read-only home), Node goes on without it.

import { enableCompileCache } from "node:module";
import { homedir } from "node:os";
import * as path from "node:path";

process.env["NODE_COMPILE_CACHE"] ||= path.join(homedir(), ".cache", "airlock-registry", "node-compile-cache");
enableCompileCache(process.env["NODE_COMPILE_CACHE"]);
await import("./cli.ts");
