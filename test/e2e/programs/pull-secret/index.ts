// The program of the pull-secret end-to-end test: a project and a pull-only robot on a registry
// server the test runs, and the robot's RegistryPullSecret for two namespaces, written as YAML
// files by the Kubernetes provider's renderYamlToDirectory (there is no cluster to apply to).

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Project, RegistryPullSecret, RobotAccount, projectAccess } from "../../../../components";

const config = new pulumi.Config("airlock");
const registryUrl = config.require("registryUrl");
const connection = config
  .requireSecret("adminPassword")
  .apply((password) => ({ url: registryUrl, username: "admin", password }));

const project = new Project("apps", { connection, name: "apps" });
const robot = new RobotAccount(
  "nodes",
  {
    connection,
    name: "nodes",
    project: "apps",
    permissions: projectAccess("apps", ["pull"]),
    secretVersion: config.requireNumber("secretVersion"),
  },
  { dependsOn: project },
);

// enableSecretMutable: a rotation updates the Secrets in place rather than replacing them.
const renderer = new k8s.Provider("render", {
  renderYamlToDirectory: config.require("renderDir"),
  enableSecretMutable: true,
});
const pullSecret = new RegistryPullSecret(
  "nodes",
  {
    registry: registryUrl,
    robotName: robot.fullName,
    robotSecret: robot.robotSecret,
    namespaces: ["production", "staging"],
  },
  { providers: [renderer] },
);

export const robotName = robot.fullName;
export const secretName = pullSecret.secretName;
