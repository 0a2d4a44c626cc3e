// One run of the trivy executable: started in a process group of its own so that a stop (the
// scan's signal) or the timeout ends it and anything it started, its report written to a file
// and read back only when it is within the size limit, its diagnostics kept to their last lines.

import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";

/** How long a stopped trivy has to exit after SIGTERM before it is killed. */
const KILL_GRACE_MS = 2_000;
/** Trivy's log lines kept for an error message. */
const MAX_DIAGNOSTICS_BYTES = 8 * 1024;

export interface TrivyRun {
  readonly binary: string;
  readonly args: readonly string[];
  /** The whole environment of the process: nothing of the server's is passed on unless named here. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The file trivy writes its report to (its `--output`). */
  readonly outputFile: string;
  readonly maxOutputBytes: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Why a run failed: a stop, the timeout, or trivy's own failure (its last log lines). */
export class TrivyRunError extends Error {
  override name = "TrivyRunError";
  readonly reason: "stopped" | "timeout" | "failed" | "too-large";

  constructor(reason: TrivyRunError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Runs trivy to the end; its report's bytes. */
export async function runTrivy(run: TrivyRun): Promise<Buffer> {
  if (run.signal?.aborted) throw new TrivyRunError("stopped", "the scan was stopped before trivy started");
  const child = spawn(run.binary, [...run.args], {
    cwd: run.cwd,
    env: run.env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let diagnostics = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    diagnostics = (diagnostics + text).slice(-MAX_DIAGNOSTICS_BYTES);
  });

  let ended: TrivyRunError["reason"] | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: "stopped" | "timeout") => {
    if (ended !== undefined || child.exitCode !== null || child.signalCode !== null) return;
    ended = reason;
    killGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => stop("timeout"), run.timeoutMs);
  const onAbort = () => stop("stopped");
  run.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => resolve({ code, signal }));
    }).catch((err: unknown) => {
      throw new TrivyRunError("failed", `could not start ${run.binary}: ${(err as Error).message}`);
    });
    if (ended === "stopped") throw new TrivyRunError("stopped", "the scan was stopped");
    if (ended === "timeout") {
      throw new TrivyRunError("timeout", `trivy did not finish within ${Math.round(run.timeoutMs / 1000)} s`);
    }
    if (exit.code !== 0) {
      const how = exit.code !== null ? `exited with ${exit.code}` : `was killed by ${exit.signal}`;
      throw new TrivyRunError("failed", `trivy ${how}: ${lastLines(diagnostics)}`);
    }
    const size = (await stat(run.outputFile)).size;
    if (size > run.maxOutputBytes) {
      throw new TrivyRunError("too-large", `trivy's report has ${size} bytes, over the limit of ${run.maxOutputBytes}`);
    }
    return await readFile(run.outputFile);
  } finally {
    clearTimeout(timer);
    // The group may hold children trivy left behind: none survive the run.
    killGroup(child.pid, "SIGKILL");
    if (killTimer) clearTimeout(killTimer);
    run.signal?.removeEventListener("abort", onAbort);
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Trivy's last few log lines, on one line, for an error message. */
function lastLines(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.slice(-3).join(" | ") || "no output";
}
