// The command line as users and the Pulumi local target run it: a real process, real signals.
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { request, tempDir, writeFile } from "./helpers.ts";

const MAIN = path.resolve(import.meta.dirname, "../src/main.ts");

function runCli(args: string[], input?: string) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    input,
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env["PATH"] },
  });
}

describe("airlock-registry command line", () => {
  const dirs: Array<() => void> = [];
  afterEach(() => dirs.splice(0).forEach((remove) => remove()));

  it("hashes a password read on stdin", () => {
    const result = runCli(["hash-password"], "hunter2-hunter2\n");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$\S+\n$/);
    expect(runCli(["hash-password"], "").status).toBe(2);
  });

  it("explains bad usage and bad configuration with exit code 2", () => {
    const unknownFlag = runCli(["serve", "--nope"]);
    expect(unknownFlag.status).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--nope'");
    expect(unknownFlag.stderr).toContain("usage: airlock-registry");

    const unknownCommand = runCli(["fly"]);
    expect(unknownCommand.status).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command "fly"');

    const noPassword = runCli(["serve", "--data-dir", "/tmp/airlock-cli-test"]);
    expect(noPassword.status).toBe(2);
    expect(noPassword.stderr).toContain("no admin password");
  });

  it("serves until SIGTERM, then finishes and exits 0", async () => {
    const tmp = tempDir("cli");
    dirs.push(tmp.remove);
    const passwordFile = writeFile(tmp.dir, "password", "cli-test-password\n");
    const configFile = writeFile(tmp.dir, "config.yaml", `http:\n  addr: "127.0.0.1:0"\ndataDir: data\n`);
    const child = spawn(
      process.execPath,
      [MAIN, "serve", "--config", configFile, "--admin-password-file", passwordFile],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env["PATH"] },
      },
    );
    const lines: Array<Record<string, unknown>> = [];
    let buffered = "";
    const listening = new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const complete = buffered.split("\n");
        buffered = complete.pop() ?? "";
        for (const line of complete) {
          const entry = JSON.parse(line) as Record<string, unknown>;
          lines.push(entry);
          if (entry["msg"] === "listening") resolve(entry["url"] as string);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited early with ${code}`)));
      setTimeout(() => reject(new Error("did not start within 20s")), 20_000).unref();
    });
    const url = await listening;

    const reply = await request(`${url}/v2/`, { auth: { username: "admin", password: "cli-test-password" } });
    expect(reply.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.map((l) => l["msg"])).toEqual(
      expect.arrayContaining(["shutting down: finishing in-flight requests", "shutdown complete"]),
    );
    expect(lines.find((l) => l["msg"] === "airlock registry started")).toMatchObject({
      dataDir: path.join(tmp.dir, "data"),
    });
  });
});
