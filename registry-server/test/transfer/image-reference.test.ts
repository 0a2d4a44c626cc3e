// Image references with Docker's rules, where imported images land, and credentials from a
// docker-style config.json.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { egressFromEnvironment, readCredentials } from "../../src/transfer/export-sources.ts";
import { formatReference, importedRepository, parseImageReference } from "../../src/transfer/image-reference.ts";
import { tempDir } from "../helpers.ts";

const work = tempDir("references");
afterAll(() => work.remove());

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image references", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:1.25", "docker.io/library/nginx:1.25"],
    ["docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25"],
    ["index.docker.io/bitnami/redis:7", "docker.io/bitnami/redis:7"],
    ["bitnami/redis", "docker.io/bitnami/redis:latest"],
    ["quay.io/prometheus/prometheus:v2.53.0", "quay.io/prometheus/prometheus:v2.53.0"],
    [`localhost:5443/team/app@${DIGEST}`, `localhost:5443/team/app@${DIGEST}`],
    [`ghcr.io/org/tool:1@${DIGEST}`, `ghcr.io/org/tool:1@${DIGEST}`],
    ["localhost/app", "localhost/app:latest"],
  ])("%s is %s", (text, full) => {
    expect(formatReference(parseImageReference(text))).toBe(full);
  });

  it.each(["Nginx", "nginx:bad tag", "nginx@sha256:123", "quay.io/"])("refuses %s", (text) => {
    expect(() => parseImageReference(text)).toThrow();
  });

  it("puts imported images under the project, after an optional prefix", () => {
    expect(importedRepository("airgap", "library/nginx")).toBe("airgap/library/nginx");
    expect(importedRepository("airgap", "library/nginx", "hub")).toBe("airgap/hub/library/nginx");
    expect(() => importedRepository("airgap", "library/nginx", "Bad")).toThrow();
  });
});

describe("export credentials and egress", () => {
  it("reads auths by host, Docker Hub under any of its names", () => {
    const file = path.join(work.dir, "config.json");
    const auth = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString("base64");
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: auth("hubuser", "hub:secret") },
          "quay.io": { username: "quser", password: "qpass" },
          "http://localhost:5000": { auth: auth("local", "pw") },
          "ghcr.io": {},
        },
        credsStore: "desktop",
      }),
    );
    const credentials = readCredentials(file);
    expect(credentials.get("docker.io")).toEqual({ type: "basic", accessKey: "hubuser", accessSecret: "hub:secret" });
    expect(credentials.get("quay.io")?.accessKey).toBe("quser");
    expect(credentials.get("localhost:5000")?.accessSecret).toBe("pw");
    expect(credentials.has("ghcr.io")).toBe(false);
    expect(() => readCredentials(path.join(work.dir, "missing.json"))).toThrow(/cannot read --creds-file/);
  });

  it("takes the egress proxy from AIRLOCK_ variables first, then the usual ones", () => {
    expect(egressFromEnvironment({ HTTPS_PROXY: "http://p:3128", NO_PROXY: "corp" }, 5000)).toEqual({
      httpsProxy: "http://p:3128",
      noProxy: "corp",
      timeoutMs: 5000,
    });
    expect(
      egressFromEnvironment({ AIRLOCK_HTTPS_PROXY: "http://a:1", HTTPS_PROXY: "http://p:3128" }, 1).httpsProxy,
    ).toBe("http://a:1");
  });
});
