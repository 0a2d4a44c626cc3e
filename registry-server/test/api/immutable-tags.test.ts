// Tag immutability as Harbor has it: the rules API of a project (create 201 + Location, list with
// X-Total-Count, PUT whose body id must be the path's, delete, 409 for a rule the project has,
// maintainers and administrators only), then the rules at work: skopeo pushing over an immutable
// tag is refused with Harbor's 412 and message while a new tag matching the rule is free, deletes
// of the tag, its manifest or its repository are refused through /v2 and the API alike, and a
// disabled rule protects nothing.

import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { writeMultiPlatformLayout } from "../clients/oci-layout.ts";
import { OciClient } from "../distribution/oci-client.ts";
import { ADMIN, startTestRegistry, tempDir, type TestRegistry } from "../helpers.ts";
import { expectError, HarborClient, idFromLocation } from "./harbor-client.ts";

const MAINTAINER = { username: "keeper", password: "Keeper-pass-1" };
const DEVELOPER = { username: "dev", password: "Dev-pass-123" };
const RULES = "/projects/team/immutabletagrules";
const COMMAND_TIMEOUT_MS = 60_000;

function immutableRule(pattern: string, extra: Record<string, unknown> = {}) {
  return {
    disabled: false,
    action: "immutable",
    template: "immutable_template",
    tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern }],
    scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    ...extra,
  };
}

/** skopeo, its exit status and what it said; never blocks the event loop serving the registry. */
function skopeo(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("skopeo", args, { stdio: ["ignore", "pipe", "pipe"], timeout: COMMAND_TIMEOUT_MS });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

describe("tag immutability", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let host: string;
  const work = tempDir("immutable");
  let layout: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    host = `127.0.0.1:${new URL(registry.url).port}`;
    await api.createProject("team", false);
    await api.createUser(MAINTAINER.username, MAINTAINER.password);
    await api.createUser(DEVELOPER.username, DEVELOPER.password);
    await api.addMember("team", MAINTAINER.username, ROLES.maintainer);
    await api.addMember("team", DEVELOPER.username, ROLES.developer);
    writeMultiPlatformLayout(path.join(work.dir, "layout"), "1.0");
    layout = `oci:${path.join(work.dir, "layout")}:1.0`;
  });
  afterAll(async () => {
    await registry?.stop();
    work.remove();
  });

  const copy = (destination: string) =>
    skopeo([
      "copy",
      "--all",
      "--dest-tls-verify=false",
      "--dest-creds",
      `${ADMIN.username}:${ADMIN.password}`,
      layout,
      `docker://${host}/${destination}`,
    ]);

  let ruleId: number;

  it("keeps a project's rules through Harbor's API", async () => {
    expect((await api.call("POST", RULES, { body: immutableRule("v*"), auth: DEVELOPER })).status).toBe(403);
    const made = await api.call("POST", RULES, { body: immutableRule("v*"), auth: MAINTAINER });
    expect(made.status, made.text).toBe(201);
    ruleId = idFromLocation(made, "/api/v2.0/projects/team/immutabletagrules/");
    expectError(await api.call("POST", RULES, { body: immutableRule("v*") }), 409, "CONFLICT", /already exists/);
    expectError(
      await api.call("POST", RULES, { body: { ...immutableRule("x"), tag_selectors: [] } }),
      400,
      "BAD_REQUEST",
      /tag_selectors/,
    );
    const listed = await api.get(RULES);
    expect(listed.headers.get("x-total-count")).toBe("1");
    expect(listed.json).toEqual([
      expect.objectContaining({ id: ruleId, disabled: false, template: "immutable_template" }),
    ]);
    expectError(
      await api.call("PUT", `${RULES}/${ruleId}`, { body: { ...immutableRule("v*"), id: ruleId + 1 } }),
      400,
      "BAD_REQUEST",
      /doesn't match/,
    );
  });

  it("refuses skopeo pushing over an immutable tag, and lets a new tag through", async () => {
    expect((await copy("team/app:v1")).status).toBe(0);
    const again = await copy("team/app:v1");
    expect(again.status).not.toBe(0);
    expect(again.output).toMatch(/configured as immutable/);
    // Tags the rule does not match, and new tags it matches, are free.
    expect((await copy("team/app:latest")).status).toBe(0);
    expect((await copy("team/app:latest")).status).toBe(0);
    expect((await copy("team/app:v2")).status).toBe(0);
    const put = await oci.pushImage("team/app", "v2", { layer: "another layer" }).catch((error: Error) => error);
    expect(put).toBeInstanceOf(Error);
  });

  it("refuses deleting the tag, its manifest or its repository, through /v2 and the API", async () => {
    const deleteTag = await oci.request("DELETE", "/v2/team/app/manifests/v1");
    expect(deleteTag.status).toBe(412);
    expect(((await deleteTag.json()) as { errors: Array<{ message: string }> }).errors[0]?.message).toBe(
      "Failed to process request due to 'app:v1' configured as immutable.",
    );
    const digest = (await oci.request("HEAD", "/v2/team/app/manifests/v1")).headers.get("docker-content-digest");
    expect((await oci.request("DELETE", `/v2/team/app/manifests/${digest}`)).status).toBe(412);
    expectError(
      await api.call("DELETE", "/projects/team/repositories/app/artifacts/v1"),
      412,
      "PRECONDITION",
      /the tag v1 configured as immutable, cannot be deleted/,
    );
    expectError(
      await api.call("DELETE", "/projects/team/repositories/app/artifacts/v1/tags/v1"),
      412,
      "PRECONDITION",
      /configured as immutable/,
    );
    expectError(await api.call("DELETE", "/projects/team/repositories/app"), 412, "PRECONDITION", /immutable/);
    expect((await oci.request("HEAD", "/v2/team/app/manifests/v1")).status).toBe(200);
  });

  it("protects nothing once disabled, and nothing once deleted", async () => {
    const disabled = await api.call("PUT", `${RULES}/${ruleId}`, {
      body: { ...immutableRule("v*"), id: ruleId, disabled: true },
      auth: MAINTAINER,
    });
    expect(disabled.status, disabled.text).toBe(200);
    expect((await copy("team/app:v1")).status).toBe(0);
    expect((await api.call("PUT", `${RULES}/${ruleId}`, { body: { ...immutableRule("v*"), id: ruleId } })).status).toBe(
      200,
    );
    expect((await copy("team/app:v1")).status).not.toBe(0);
    expect((await api.call("DELETE", `${RULES}/${ruleId}`, { auth: MAINTAINER })).status).toBe(200);
    expect((await api.get(RULES)).json).toEqual([]);
    expect((await oci.request("DELETE", "/v2/team/app/manifests/v1")).status).toBe(202);
  });
});
