// Installing the packed package as another team would, without the network: a consumer program
// in a directory outside the repository, its package-lock.json made from this repository's (the
// consumer's dependencies and everything they need, the same versions and integrity hashes), and
// `npm ci --offline`, which takes every tarball from the npm cache the set-up's own `npm ci` filled.
// That is how an air-gapped team installs too, from a mirror or a copied cache; the tests may not
// reach the npm registry.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
/** The pinned Node.js 24 the set-up installed: the consumer's `node`. */
export const NODE_BINARY = process.execPath;

const NPM_TIMEOUT_MS = 240_000;

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires: boolean;
  packages: Record<string, LockEntry>;
}

interface PackageManifest {
  name: string;
  version: string;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  files?: string[];
}

export interface PackedPackage {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package, as `npm pack` lists them. */
  files: string[];
  manifest: PackageManifest;
}

/** `npm pack` of this repository (its prepack builds dist/ from clean) into `outDir`. */
export async function packProject(outDir: string): Promise<PackedPackage> {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", outDir], {
    cwd: PROJECT_ROOT,
    timeout: NPM_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  // prepack's own output goes to stderr; stdout holds npm's JSON report.
  const [report] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  if (!report) {
    throw new Error(`npm pack reported nothing: ${stdout}`);
  }
  return {
    tarball: path.join(outDir, report.filename),
    files: report.files.map((file) => file.path),
    manifest: JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as PackageManifest,
  };
}

/** Where `name`, required from the package at `from` ("" for the root), is installed in `lock`. */
function locate(lock: Lockfile, from: string, name: string): string | undefined {
  for (let at = from; ;) {
    const key = `${at ? `${at}/` : ""}node_modules/${name}`;
    if (lock.packages[key] && !lock.packages[key].link) {
      return key;
    }
    if (!at) {
      return undefined;
    }
    const parent = at.lastIndexOf("/node_modules/");
    at = parent < 0 ? "" : at.slice(0, parent);
  }
}

/**
 * The consumer's lockfile: its root with `dependencies`, the packed package from `tarball`
 * (relative to the consumer), and every package of this repository's lockfile they reach through
 * dependencies, optional dependencies present here and non-optional peers, at the same place.
 */
export function consumerLockfile(
  name: string,
  dependencies: Record<string, string>,
  packed: { manifest: PackageManifest; tarball: string; relativePath: string },
): Lockfile {
  const repoLock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const { manifest } = packed;
  const integrity = `sha512-${createHash("sha512").update(readFileSync(packed.tarball)).digest("base64")}`;
  const packages: Record<string, LockEntry> = {
    "": { name, version: "1.0.0", dependencies: { ...dependencies, [manifest.name]: `file:${packed.relativePath}` } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: `file:${packed.relativePath}`,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };

  const queue: [from: string, dependency: string][] = [
    ...Object.keys(dependencies).map((dependency): [string, string] => ["", dependency]),
    ...Object.keys(manifest.dependencies ?? {}).map((dependency): [string, string] => [
      `node_modules/${manifest.name}`,
      dependency,
    ]),
  ];
  while (queue.length > 0) {
    const [from, dependency] = queue.shift()!;
    const key = locate(repoLock, from === `node_modules/${manifest.name}` ? "" : from, dependency);
    if (!key) {
      throw new Error(`${dependency} (needed by ${from || name}) is not in this repository's package-lock.json`);
    }
    if (packages[key]) {
      continue;
    }
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock.packages[key]!;
    packages[key] = entry;
    const optionalPeers = new Set(
      Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional)
        .map(([peer]) => peer),
    );
    const next = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}).filter((optional) => locate(repoLock, key, optional)),
      ...Object.keys(entry.peerDependencies ?? {}).filter((peer) => !optionalPeers.has(peer)),
    ];
    queue.push(...next.map((child): [string, string] => [key, child]));
  }
  return { name, version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

/**
 * A consumer project in `dir` (outside the repository): `files` written, the tarball copied to
 * vendor/, the lockfile made, `npm ci --offline --ignore-scripts` (no install script may fetch
 * plugins: the set-up provides them).
 */
export async function installConsumer(
  dir: string,
  packed: PackedPackage,
  dependencies: Record<string, string>,
  files: Record<string, string>,
): Promise<void> {
  mkdirSync(path.join(dir, "vendor"), { recursive: true });
  const relativePath = `vendor/${path.basename(packed.tarball)}`;
  writeFileSync(path.join(dir, relativePath), readFileSync(packed.tarball));
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), text);
  }
  const name = path.basename(dir);
  const lock = consumerLockfile(name, dependencies, { ...packed, relativePath });
  const manifest = { name, version: "1.0.0", private: true, dependencies: lock.packages[""]!.dependencies };
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  await run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    timeout: NPM_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
}
