// A real, small filesystem for the disk-full test: a size-limited tmpfs mounted on a directory of
// the test's, or, where tmpfs mounts are refused, an ext4 image of that size on a loop device.
// Both need root (the test runs as root here); when neither can be mounted the test fails, saying
// why: a disk that fills up cannot be faked with a smaller write.

import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statfsSync } from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../helpers.ts";

export interface SmallFilesystem {
  /** The mounted directory. */
  readonly dir: string;
  /** How it was made: "tmpfs" or "ext4 on a loop device". */
  readonly kind: string;
  /** Bytes an unprivileged writer may still use. */
  free(): number;
  /** Unmounts and removes everything. */
  remove(): Promise<void>;
}

function run(command: string, args: readonly string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

/**
 * Unmounts `dir`, waiting for processes that still hold files in it (a server's worker processes
 * end just after it) for a few seconds, then lazily: the mount goes once they have.
 */
async function unmount(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      run("umount", [dir]);
      return;
    } catch {
      await sleep(250);
    }
  }
  run("umount", ["-l", dir]);
}

function describeFailure(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString("utf8").trim();
  return stderr || (error as Error).message;
}

export function mountSmallFilesystem(sizeMiB: number): SmallFilesystem {
  const work = tempDir("small-fs");
  const dir = path.join(work.dir, "mnt");
  mkdirSync(dir);
  const free = (): number => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  const attempts: string[] = [];
  try {
    run("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0700`, "tmpfs", dir]);
    return {
      dir,
      kind: "tmpfs",
      free,
      remove: async () => {
        await unmount(dir);
        work.remove();
      },
    };
  } catch (error) {
    attempts.push(`tmpfs: ${describeFailure(error)}`);
  }
  const image = path.join(work.dir, "fs.img");
  try {
    run("truncate", ["-s", `${sizeMiB}M`, image]);
    // No reserved blocks: root (the server here) would otherwise see more room than a user.
    run("mkfs.ext4", ["-q", "-F", "-m", "0", image]);
    run("mount", ["-o", "loop", image, dir]);
    return {
      dir,
      kind: "ext4 on a loop device",
      free,
      remove: async () => {
        await unmount(dir);
        rmSync(image, { force: true });
        work.remove();
      },
    };
  } catch (error) {
    attempts.push(`ext4 image: ${describeFailure(error)}`);
  }
  work.remove();
  throw new Error(`cannot mount a small filesystem here (this test needs root): ${attempts.join("; ")}`);
}
