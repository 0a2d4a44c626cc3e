// The registry with the clients people use, each logging in through the token flow over TLS:
// skopeo and podman from Debian, crane, oras and regctl built from their Go modules
// (scripts/tools/go-tools.sh). What they push and pull must come back byte for byte.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, selfSignedCertificate, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { writeMultiPlatformLayout, type LayoutImage } from "./oci-layout.ts";

const GO_TOOLS = path.resolve(import.meta.dirname, "../../../.tools/bin");
const COMMAND_TIMEOUT_MS = 120_000;

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

describe("real clients", async () => {
  let registry: TestRegistry;
  let host: string;
  let work: { dir: string; remove: () => void };
  let certDir: string;
  let caFile: string;
  let image: LayoutImage;
  let env: NodeJS.ProcessEnv;

  /** Runs a client without blocking the event loop, which also serves the in-process registry. */
  async function run(
    command: string,
    args: string[],
    options: { input?: string; allowFailure?: boolean } = {},
  ): Promise<Run> {
    const executable = ["crane", "oras", "regctl"].includes(command) ? path.join(GO_TOOLS, command) : command;
    const outcome = await new Promise<Run>((resolve, reject) => {
      const child = spawn(executable, args, { env, stdio: ["pipe", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("error", (err) => reject(new Error(`${command} could not run: ${err.message}`)));
      child.on("close", (status) => resolve({ stdout, stderr, status }));
      child.stdin.end(options.input ?? "");
    });
    if (!options.allowFailure && outcome.status !== 0) {
      throw new Error(
        `${command} ${args.join(" ")} exited with ${outcome.status}:\n${outcome.stderr}${outcome.stdout}`,
      );
    }
    return outcome;
  }

  /** Copies the multi-platform image of the test layout, every platform, with skopeo. */
  async function pushLayout(): Promise<void> {
    const source = `oci:${path.join(work.dir, "layout")}:1.0`;
    await run("skopeo", ["copy", "--all", "--dest-cert-dir", certDir, source, `docker://${host}/skopeo/multi:1.0`]);
  }

  beforeAll(async () => {
    for (const tool of ["crane", "oras", "regctl"]) {
      if (!existsSync(path.join(GO_TOOLS, tool)))
        throw new Error(`${tool} is missing: run scripts/tools/go-tools.sh (scripts/test.sh does)`);
    }
    work = tempDir("clients");
    const tls = selfSignedCertificate(work.dir);
    registry = await startTestRegistry({ tls });
    host = `localhost:${new URL(registry.url).port}`;
    certDir = path.join(work.dir, "certs");
    mkdirSync(certDir);
    caFile = path.join(certDir, "ca.crt");
    writeFileSync(caFile, readFileSync(tls.certFile));
    image = writeMultiPlatformLayout(path.join(work.dir, "layout"), "1.0");
    const home = path.join(work.dir, "home");
    mkdirSync(home);
    env = {
      PATH: process.env["PATH"],
      HOME: home,
      // Every client keeps its credentials in the test's directory, never the user's.
      REGISTRY_AUTH_FILE: path.join(work.dir, "auth.json"),
      DOCKER_CONFIG: path.join(work.dir, "docker"),
      // Go clients trust the test CA through the standard variable.
      SSL_CERT_FILE: caFile,
    };
  });

  afterAll(async () => {
    await registry?.stop();
    work?.remove();
  });

  it("skopeo logs in, copies a multi-platform image in and out of an OCI layout, inspects and deletes by digest", async () => {
    const login = await run(
      "skopeo",
      ["login", "--cert-dir", certDir, "--username", ADMIN.username, "--password-stdin", host],
      { input: ADMIN.password },
    );
    expect(login.stdout).toContain("Login Succeeded");

    await pushLayout();
    const raw = await run("skopeo", ["inspect", "--raw", "--cert-dir", certDir, `docker://${host}/skopeo/multi:1.0`]);
    expect(Buffer.from(raw.stdout).equals(image.indexBytes)).toBe(true);
    const inspected = JSON.parse(
      (await run("skopeo", ["inspect", "--cert-dir", certDir, `docker://${host}/skopeo/multi:1.0`])).stdout,
    ) as { Digest: string; Architecture: string };
    expect(inspected.Digest).toBe(image.indexDigest);

    const out = path.join(work.dir, "copied");
    await run("skopeo", [
      "copy",
      "--all",
      "--src-cert-dir",
      certDir,
      `docker://${host}/skopeo/multi:1.0`,
      `oci:${out}:copy`,
    ]);
    const outIndex = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    expect(outIndex.manifests[0]?.digest).toBe(image.indexDigest);
    const arm = image.manifestDigests["arm64"] ?? "";
    expect(existsSync(path.join(out, "blobs", "sha256", arm.slice("sha256:".length)))).toBe(true);

    await run("skopeo", ["delete", "--cert-dir", certDir, `docker://${host}/skopeo/multi@${image.indexDigest}`]);
    const gone = await run("skopeo", ["inspect", "--raw", "--cert-dir", certDir, `docker://${host}/skopeo/multi:1.0`], {
      allowFailure: true,
    });
    expect(gone.status).not.toBe(0);
    // Put it back for the other clients.
    await pushLayout();
  });

  it("podman logs in, pulls, tags and pushes", async () => {
    const storage = [
      "--root",
      path.join(work.dir, "podman-root"),
      "--runroot",
      path.join(work.dir, "podman-run"),
      "--storage-driver",
      "vfs",
    ];
    await run(
      "podman",
      [...storage, "login", "--cert-dir", certDir, "--username", ADMIN.username, "--password-stdin", host],
      { input: ADMIN.password },
    );
    await run("podman", [...storage, "pull", "--cert-dir", certDir, `${host}/skopeo/multi:1.0`]);
    await run("podman", [...storage, "tag", `${host}/skopeo/multi:1.0`, `${host}/podman/copy:1`]);
    await run("podman", [...storage, "push", "--cert-dir", certDir, `${host}/podman/copy:1`]);
    const pushed = await run("skopeo", ["inspect", "--cert-dir", certDir, `docker://${host}/podman/copy:1`]);
    expect((JSON.parse(pushed.stdout) as { Architecture: string }).Architecture).toBe("amd64");
  });

  it("crane copies a multi-platform index (mounting its blobs), tags and lists", async () => {
    await run("crane", ["auth", "login", host, "--username", ADMIN.username, "--password", ADMIN.password]);
    const copy = await run("crane", ["copy", `${host}/skopeo/multi:1.0`, `${host}/crane/multi:1.0`]);
    expect(copy.stderr).toContain("mounted blob");
    expect((await run("crane", ["digest", `${host}/crane/multi:1.0`])).stdout.trim()).toBe(image.indexDigest);
    await run("crane", ["tag", `${host}/crane/multi:1.0`, "stable"]);
    expect((await run("crane", ["ls", `${host}/crane/multi`])).stdout.trim().split("\n")).toEqual(["1.0", "stable"]);
    const manifest = JSON.parse((await run("crane", ["manifest", `${host}/crane/multi:stable`])).stdout) as {
      manifests: unknown[];
    };
    expect(manifest.manifests).toHaveLength(2);
  });

  it("oras pushes an artifact, attaches one with a subject, and finds it through the referrers API", async () => {
    const tls = ["--plain-http=false", "--ca-file", caFile];
    await run("oras", ["login", ...tls, host, "--username", ADMIN.username, "--password-stdin"], {
      input: ADMIN.password,
    });
    const files = path.join(work.dir, "oras-files");
    mkdirSync(files);
    writeFileSync(path.join(files, "notes.txt"), "release notes\n");
    writeFileSync(path.join(files, "sbom.json"), '{"sbom":true}\n');
    await run("oras", [
      "push",
      ...tls,
      "--disable-path-validation",
      `${host}/oras/artifact:v1`,
      "--artifact-type",
      "application/vnd.example.notes",
      `${files}/notes.txt`,
    ]);
    await run("oras", [
      "attach",
      ...tls,
      "--disable-path-validation",
      "--artifact-type",
      "application/vnd.example.sbom",
      `${host}/oras/artifact:v1`,
      `${files}/sbom.json`,
    ]);
    const discovered = JSON.parse(
      (await run("oras", ["discover", ...tls, "--format", "json", `${host}/oras/artifact:v1`])).stdout,
    ) as {
      manifests: Array<{ artifactType: string }>;
    };
    expect(discovered.manifests.map((m) => m.artifactType)).toEqual(["application/vnd.example.sbom"]);
    const filtered = JSON.parse(
      (
        await run("oras", [
          "discover",
          ...tls,
          "--format",
          "json",
          "--artifact-type",
          "application/vnd.example.other",
          `${host}/oras/artifact:v1`,
        ])
      ).stdout,
    ) as { manifests: unknown[] };
    expect(filtered.manifests).toEqual([]);
  });

  it("regctl copies images and pages through tags with --limit and --last", async () => {
    await run("regctl", ["registry", "set", host, "--tls", "enabled"]);
    await run("regctl", ["registry", "login", host, "--user", ADMIN.username, "--pass-stdin"], {
      input: ADMIN.password,
    });
    for (const tag of ["t1", "t2", "t3", "t4", "t5"])
      await run("regctl", ["image", "copy", `${host}/crane/multi:1.0`, `${host}/regctl/multi:${tag}`]);
    expect(
      (await run("regctl", ["tag", "ls", `${host}/regctl/multi`, "--limit", "2"])).stdout.trim().split("\n"),
    ).toEqual(["t1", "t2"]);
    expect(
      (await run("regctl", ["tag", "ls", `${host}/regctl/multi`, "--limit", "2", "--last", "t2"])).stdout
        .trim()
        .split("\n"),
    ).toEqual(["t3", "t4"]);
    expect(
      (
        await run("regctl", ["manifest", "get", `${host}/regctl/multi:t5`, "--format", "{{.GetDescriptor.Digest}}"])
      ).stdout.trim(),
    ).toBe(image.indexDigest);
  });
});
