// The components as a library, used as another platform team would: a tiny Pulumi program of its
// own (programs/library-consumer/) that imports them by the package's name, `airlock/components`
// (the package.json `exports`, resolved by Node and TypeScript as for any installed package).
// `up` deploys a local registry server with a project and a pull robot, the robot logs in,
// `destroy` removes the server and its state.

import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestStack, changes, createTestStack, destroyAndRemove, freePort } from "./harness";
import { type Endpoint, call } from "./registry-calls";

const STEP_TIMEOUT_MS = 120_000;
const PROGRAM_DIR = path.join(__dirname, "programs", "library-consumer");

describe("the components used from another program through airlock/components", () => {
  let test: TestStack;
  let stateDir: string;
  let endpoint: Endpoint;
  let robot: { user: string; password: string };

  beforeAll(async () => {
    const port = await freePort();
    test = await createTestStack((workDir) => {
      stateDir = path.join(workDir, "registry");
      return { port, stateDir };
    }, PROGRAM_DIR);
  }, STEP_TIMEOUT_MS);

  afterAll(() => destroyAndRemove(test), STEP_TIMEOUT_MS);

  it("imports the components only by the package's name", () => {
    const source = readFileSync(path.join(PROGRAM_DIR, "index.ts"), "utf8");
    const specifiers = [...source.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
    expect(specifiers).toContain("airlock/components");
    expect(specifiers.filter((specifier) => specifier?.startsWith("."))).toEqual([]);
  });

  it(
    "up deploys the server, the project and the robot, and the robot logs in",
    async () => {
      const result = await test.stack.up();
      expect(result.summary.result).toBe("succeeded");
      const outputs = result.outputs;
      const url = String(outputs["url"]?.value);
      endpoint = { url, host: new URL(url).host, ca: String(outputs["caCertificate"]?.value), certDir: "" };
      robot = { user: String(outputs["robotName"]?.value), password: String(outputs["robotSecret"]?.value) };
      expect(robot.user).toBe("robot$apps+deployer");
      expect(outputs["robotSecret"]?.secret).toBe(true);

      expect((await call(endpoint, "GET", "/v2/", robot)).status).toBe(200);
      expect((await call(endpoint, "GET", "/v2/", { ...robot, password: "wrong" })).status).toBe(401);
      expect(existsSync(stateDir)).toBe(true);

      // Declared again, nothing changes.
      const again = await test.stack.up();
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy stops the server and removes its state",
    async () => {
      const result = await test.stack.destroy();
      expect(result.summary.result).toBe("succeeded");
      await expect(call(endpoint, "GET", "/v2/", robot)).rejects.toThrow();
      expect(existsSync(stateDir)).toBe(false);
    },
    STEP_TIMEOUT_MS,
  );
});
