// Another platform team's program (test/package/npm-package.test.ts copies this directory out of
// the repository and installs the packed package beside it): everything comes from the package by
// its name (`airlock/components`, the package.json `exports`), nothing by a path. A registry
// server on this machine, a project and a pull-only robot on it; the outputs say where the
// registry is and who the robot is.

import * as pulumi from "@pulumi/pulumi";
import { Project, RegistryServer, RobotAccount, projectAccess } from "airlock/components";

const config = new pulumi.Config();

const registry = new RegistryServer("registry", {
  target: "local",
  local: {
    port: config.requireNumber("port"),
    stateDir: config.require("stateDir"),
    removeDataOnDestroy: true,
  },
});

const project = new Project("apps", { connection: registry.connection, name: "apps" });
const robot = new RobotAccount(
  "deployer",
  {
    connection: registry.connection,
    name: "deployer",
    project: "apps",
    permissions: projectAccess("apps", ["pull"]),
  },
  { dependsOn: project },
);

export const url = registry.url;
export const caCertificate = registry.caCertPem;
export const robotName = robot.fullName;
export const robotSecret = robot.robotSecret;
export const serverPid = registry.local?.pid;
