// Users, projects, members and robot accounts declared in a stack, through the real engine:
// up creates them; changes made by hand through the API show as drift in a refresh preview
// (exit code 7 with --expect-no-changes); up puts them back; a secretVersion bump rotates a
// robot's secret; destroy removes them. A pull-only robot pulls with skopeo and cannot push.
// Each object carries its declaration (/api/v2.0/declarations: the stack and the resource's URN)
// from up until destroy.

import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import { ADMIN_PASSWORD, type Endpoint, call, pushImage, skopeo } from "./registry-calls";

const STEP_TIMEOUT_MS = 300_000;

describe("declared registry content", () => {
  let test: TestStack;
  let port: number;
  let endpoint: Endpoint;
  let robots: Record<string, { username: string; password: string }>;

  const config = (readerVersion: number) => ({
    local: { port, stateDir: path.join(test.workDir, "registry"), logLevel: "warn", removeDataOnDestroy: true },
    adminPassword: ADMIN_PASSWORD,
    users: [{ username: "alice", password: "Alice-pass-1", email: "alice@example.test" }],
    projects: [
      {
        name: "team",
        members: [{ username: "alice", role: "developer" }],
        robots: [
          { name: "reader", actions: ["pull"], secretVersion: readerVersion },
          { name: "ci", actions: ["pull", "push"] },
        ],
      },
    ],
  });

  async function urnOf(type: string, name?: string): Promise<string | undefined> {
    const state = await test.stack.exportStack();
    const resources = (state.deployment as { resources: Array<{ urn: string; type: string }> }).resources;
    return resources.find(
      (r) => r.type === `pulumi-nodejs:dynamic/registry:${type}` && (name === undefined || r.urn.endsWith(`::${name}`)),
    )?.urn;
  }

  /** The registry's declarations of `kind` (and `key`), as the administrator sees them. */
  async function declarations(kind: string, key?: string): Promise<Array<Record<string, unknown>>> {
    const query = `kind=${kind}${key === undefined ? "" : `&key=${encodeURIComponent(key)}`}&page_size=0`;
    const reply = await call(endpoint, "GET", `/api/v2.0/declarations?${query}`);
    expect(reply.status).toBe(200);
    return reply.json as Array<Record<string, unknown>>;
  }

  async function setConfig(readerVersion: number): Promise<void> {
    for (const [key, value] of Object.entries(config(readerVersion))) {
      await test.stack.setConfig(`airlock:${key}`, {
        value: typeof value === "string" ? value : JSON.stringify(value),
        secret: key === "users" || key === "adminPassword",
      });
    }
  }

  beforeAll(async () => {
    port = await freePort();
    test = await createTestStack(() => ({}));
    await setConfig(1);
  }, STEP_TIMEOUT_MS);

  afterAll(() => destroyAndRemove(test), STEP_TIMEOUT_MS);

  it(
    "up creates the users, projects, members and robots",
    async () => {
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({ create: 13 });
      const ca = result.outputs["caCertificate"]?.value as string;
      const certDir = path.join(test.workDir, "certs");
      mkdirSync(certDir, { recursive: true });
      writeFileSync(path.join(certDir, "ca.crt"), ca);
      endpoint = { url: result.outputs["url"]?.value as string, host: `localhost:${port}`, ca, certDir };
      robots = result.outputs["robots"]?.value as Record<string, { username: string; password: string }>;
      expect(result.outputs["robots"]?.secret).toBe(true);
      expect(robots["team/reader"]?.username).toBe("robot$team+reader");

      const project = await call(endpoint, "GET", "/api/v2.0/projects/team");
      expect(project.status).toBe(200);
      expect((project.json as { metadata: Record<string, string> }).metadata["public"]).toBe("false");
      const members = (await call(endpoint, "GET", "/api/v2.0/projects/team/members")).json as Array<{
        entity_name: string;
        role_name: string;
      }>;
      expect(members.map((m) => `${m.entity_name}:${m.role_name}`).sort()).toEqual([
        "admin:projectAdmin",
        "alice:developer",
      ]);

      // Each object records the stack that declared it and the resource's URN.
      const projectUrn = (await urnOf("Project")) ?? "";
      const [, stackName, projectName] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(projectUrn) ?? [];
      const stack = `organization/${projectName}/${stackName}`;
      expect(await declarations("project", "team")).toEqual([
        { kind: "project", key: "team", stack, resource: projectUrn, update_time: expect.any(String) as unknown },
      ]);
      const readerUrn = await urnOf("RobotAccount", "registry-robot-team-reader");
      expect(readerUrn).toBeDefined();
      expect(await declarations("robot", "robot$team+reader")).toEqual([
        expect.objectContaining({ stack, resource: readerUrn }),
      ]);
      expect((await declarations("robot")).map((d) => d["key"])).toEqual(["robot$team+ci", "robot$team+reader"]);
      expect((await declarations("member")).map((d) => d["key"])).toEqual(["team/alice"]);
      expect((await declarations("user")).map((d) => d["key"])).toEqual(["alice"]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "lets the pull-only robot pull with skopeo and refuses its push",
    async () => {
      await pushImage(endpoint, "team/app", "1.0");
      const reader = robots["team/reader"];
      const ci = robots["team/ci"];
      if (!reader || !ci) throw new Error("robot credentials missing from the outputs");
      const pull = await skopeo(
        [
          "inspect",
          "--cert-dir",
          endpoint.certDir,
          "--creds",
          `${reader.username}:${reader.password}`,
          `docker://${endpoint.host}/team/app:1.0`,
        ],
        test.workDir,
      );
      expect(pull.output).toContain('"Architecture": "amd64"');
      expect(pull.status).toBe(0);
      const copy = (creds: string) =>
        skopeo(
          [
            "copy",
            "--src-cert-dir",
            endpoint.certDir,
            "--dest-cert-dir",
            endpoint.certDir,
            "--src-creds",
            creds,
            "--dest-creds",
            creds,
            `docker://${endpoint.host}/team/app:1.0`,
            `docker://${endpoint.host}/team/app:copy`,
          ],
          test.workDir,
        );
      const refused = await copy(`${reader.username}:${reader.password}`);
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/denied|unauthorized|authentication required/i);
      const allowed = await copy(`${ci.username}:${ci.password}`);
      expect(allowed.status, allowed.output).toBe(0);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "shows changes made by hand as drift (exit code 7) and up puts them back",
    async () => {
      const projectId = ((await call(endpoint, "GET", "/api/v2.0/projects/team")).json as { project_id: number })
        .project_id;
      expect(
        (await call(endpoint, "PUT", `/api/v2.0/projects/${projectId}`, { body: { metadata: { public: "true" } } }))
          .status,
      ).toBe(200);
      const members = (await call(endpoint, "GET", "/api/v2.0/projects/team/members")).json as Array<{
        id: number;
        entity_name: string;
      }>;
      const alice = members.find((m) => m.entity_name === "alice");
      expect(
        (await call(endpoint, "PUT", `/api/v2.0/projects/team/members/${alice?.id}`, { body: { role_id: 3 } })).status,
      ).toBe(200);
      const robotList = (await call(endpoint, "GET", `/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D${projectId}`))
        .json as Array<{ id: number; name: string }>;
      const reader = robotList.find((r) => r.name === "robot$team+reader");
      const robot = (await call(endpoint, "GET", `/api/v2.0/robots/${reader?.id}`)).json as Record<string, unknown>;
      expect(
        (await call(endpoint, "PUT", `/api/v2.0/robots/${reader?.id}`, { body: { ...robot, disable: true } })).status,
      ).toBe(200);

      const preview = await test.stack.previewRefresh({ expectNoChanges: true }).then(
        () => new Error("the refresh preview should have found drift"),
        (err: Error) => err,
      );
      // The Automation API reports the CLI's exit code in its message.
      expect(preview.message).toContain("Command failed with exit code 7");
      expect(preview.message).toContain("no changes were expected for refresh but changes were proposed");

      const refresh = await test.stack.refresh();
      expect(changes(refresh.summary.resourceChanges)).toEqual({ update: 3 });
      const healed = await test.stack.up();
      expect(changes(healed.summary.resourceChanges)).toEqual({ update: 3 });

      const project = (await call(endpoint, "GET", "/api/v2.0/projects/team")).json as {
        metadata: Record<string, string>;
      };
      expect(project.metadata["public"]).toBe("false");
      const after = (await call(endpoint, "GET", "/api/v2.0/projects/team/members")).json as Array<{
        entity_name: string;
        role_name: string;
      }>;
      expect(after.find((m) => m.entity_name === "alice")?.role_name).toBe("developer");
      expect(
        ((await call(endpoint, "GET", `/api/v2.0/robots/${reader?.id}`)).json as { disable: boolean }).disable,
      ).toBe(false);

      const clean = await test.stack.previewRefresh({ expectNoChanges: true });
      expect(changes(clean.changeSummary)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "rotates a robot's secret when its secretVersion changes",
    async () => {
      const old = robots["team/reader"];
      await setConfig(2);
      const result = await test.stack.up();
      expect(changes(result.summary.resourceChanges)).toEqual({ update: 1 });
      const rotated = (result.outputs["robots"]?.value as Record<string, { username: string; password: string }>)[
        "team/reader"
      ];
      expect(rotated?.password).toBeTruthy();
      expect(rotated?.password).not.toBe(old?.password);
      expect(
        (await call(endpoint, "GET", "/v2/", { user: old?.username ?? "", password: old?.password ?? "" })).status,
      ).toBe(401);
      expect(
        (await call(endpoint, "GET", "/v2/", { user: rotated?.username ?? "", password: rotated?.password ?? "" }))
          .status,
      ).toBe(200);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy removes them",
    async () => {
      // A project with repositories cannot be deleted (412): delete the repository first, as
      // one would in Harbor.
      expect((await call(endpoint, "DELETE", "/api/v2.0/projects/team/repositories/app")).status).toBe(200);
      const server = await call(endpoint, "GET", "/api/v2.0/projects/team");
      expect(server.status).toBe(200);
      // Destroy everything but the server, then check through its API that they are gone.
      const result = await test.stack.destroy({ target: [(await urnOf("Project")) ?? ""], targetDependents: true });
      expect(changes(result.summary.resourceChanges)).toEqual({ delete: 4 });
      expect((await call(endpoint, "GET", "/api/v2.0/projects/team")).status).toBe(404);
      const users = (await call(endpoint, "GET", "/api/v2.0/users")).json as Array<{ username: string }>;
      expect(users.map((u) => u.username)).toContain("alice");
      // The destroyed objects' declarations are gone; the user, still declared, keeps its own.
      for (const kind of ["project", "robot", "member"]) expect(await declarations(kind), kind).toEqual([]);
      expect((await declarations("user")).map((d) => d["key"])).toEqual(["alice"]);
    },
    STEP_TIMEOUT_MS,
  );
});
