// The project-name rule, one definition on the Pulumi side (components/project-name.ts): the
// stack configuration's schema and the Project, RobotAccount and RegistryEndpoint providers take
// and refuse the same names with it, and so does the server, whose own copies (the project API,
// the configuration's mirror section) must agree with this one.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig, StackConfigError } from "../../components/stack-config";
import { isProjectName, PROJECT_NAME, PROJECT_NAME_RULE } from "../../components/project-name";
import { checkProject } from "../../components/registry/project";
import { checkEndpoint } from "../../components/registry/registry-endpoint";
import { checkRobot } from "../../components/registry/robot-account";

const SERVER_SRC = path.resolve(__dirname, "..", "..", "registry-server", "src");

/** [what the name is, the name, whether it is a project name]. */
const NAMES: Array<[string, string, boolean]> = [
  ["a word", "library", true],
  ["words with a dash", "dockerhub-proxy", true],
  ["each separator once", "team.a_b-1", true],
  ["a digit", "0", true],
  ["255 characters", "a".repeat(255), true],
  ["256 characters", "a".repeat(256), false],
  ["an upper case letter", "Library", false],
  ["a leading separator", "-library", false],
  ["a trailing separator", "library-", false],
  ["two separators in a row", "lib--rary", false],
  ["a slash", "lib/rary", false],
  ["nothing", "", false],
];

const connection = { url: "https://localhost:5443", username: "admin", password: "Admin-pass-1" };

function stackRefuses(name: string): boolean {
  try {
    parseStackConfig({ "airlock:projects": JSON.stringify([{ name }]) });
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    expect((err as Error).message).toContain("airlock:projects[0].name: ");
    return true;
  }
}

describe("the project-name rule", () => {
  it("is the server's own pattern, and says so in words", async () => {
    const routes = (await import(path.join(SERVER_SRC, "api", "project-routes.ts"))) as { PROJECT_NAME: RegExp };
    expect(PROJECT_NAME.source).toBe(routes.PROJECT_NAME.source);
    expect(PROJECT_NAME.flags).toBe(routes.PROJECT_NAME.flags);
    const failure = checkProject({ connection, name: "Bad Name" }).failures?.find((f) => f.property === "name");
    expect(failure?.reason).toBe(`expected ${PROJECT_NAME_RULE}, got "Bad Name"`);
  });

  it.each(NAMES)("takes or refuses %s the same way everywhere", async (_what, name, valid) => {
    expect(isProjectName(name)).toBe(valid);
    expect(stackRefuses(name)).toBe(!valid);
    const project = checkProject({ connection, name });
    expect(project.failures?.some((failure) => failure.property === "name")).toBe(!valid);
    const endpoint = checkEndpoint({ connection, name, type: "docker-hub", url: "https://hub.docker.com" });
    expect(endpoint.failures?.some((failure) => failure.property === "name")).toBe(!valid);
    // A robot's short name has the pattern without the length limit.
    const robot = checkRobot({ connection, name, permissions: [] });
    expect(robot.failures?.some((failure) => failure.property === "name")).toBe(!PROJECT_NAME.test(name));

    // The server's configuration (mirror.defaultProject) checks it with its own copy.
    const server = (await import(path.join(SERVER_SRC, "config.ts"))) as {
      parseFileConfig(raw: unknown, source: string): unknown;
    };
    const parsed = (): unknown => server.parseFileConfig({ mirror: { defaultProject: name } }, "a mirror");
    if (PROJECT_NAME.test(name)) expect(parsed).not.toThrow();
    else expect(parsed).toThrow(/mirror\.defaultProject/);
  });
});
