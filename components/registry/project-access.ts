// Who may use a declared project: its members and its robot accounts, declared under a parent
// component. Shared by the plain projects (DeclaredContent) and the proxy-cache projects
// (DeclaredProxyCache), which name their resources differently but mean the same thing.

import type * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import { ProjectMember, type ProjectRole } from "./project-member";
import { projectAccess, RobotAccount } from "./robot-account";

export interface DeclaredMember {
  /** A local user's name. */
  username: string;
  /** The user's role in the project. */
  role: ProjectRole;
}

export interface DeclaredRobot {
  /** The short name; clients log in as robot$<project>+<name>. */
  name: string;
  /** What the robot may do in its project. */
  actions: Array<"pull" | "push" | "delete">;
  /** Free text shown in the registry. */
  description: string;
  /** Lifetime in days; -1 never expires. */
  duration: number;
  /** Change to have the registry generate a new secret. */
  secretVersion: number;
}

export interface RobotCredentials {
  /** The name to log in with, robot$<project>+<name>. */
  username: pulumi.Output<string>;
  /** The robot's secret. */
  password: pulumi.Output<string>;
}

export interface ProjectAccessArgs {
  parent: pulumi.Resource;
  connection: pulumi.Input<RegistryConnection>;
  /** The project resource (members and robots wait for it) and its name. */
  project: pulumi.Resource & { name: pulumi.Output<string> };
  projectName: string;
  members: DeclaredMember[];
  robots: DeclaredRobot[];
  /** Declared users by name: a membership waits for its user. */
  users: Readonly<Record<string, pulumi.Resource>>;
  /** Resource names, kept as each caller has always named them (renames would replace). */
  memberResourceName: (username: string) => string;
  robotResourceName: (robot: string) => string;
}

/** Declares the members and robots; returns the robots' credentials by "<project>/<robot>". */
export function declareProjectAccess(args: ProjectAccessArgs): Record<string, RobotCredentials> {
  const { parent, connection, project, projectName } = args;
  for (const member of args.members) {
    const user = args.users[member.username];
    new ProjectMember(
      args.memberResourceName(member.username),
      { connection, project: project.name, username: member.username, role: member.role },
      { parent, dependsOn: user ? [project, user] : [project] },
    );
  }
  const robots: Record<string, RobotCredentials> = {};
  for (const robot of args.robots) {
    const account = new RobotAccount(
      args.robotResourceName(robot.name),
      {
        connection,
        name: robot.name,
        project: project.name,
        permissions: projectAccess(projectName, robot.actions),
        description: robot.description,
        duration: robot.duration,
        secretVersion: robot.secretVersion,
      },
      { parent, dependsOn: [project] },
    );
    robots[`${projectName}/${robot.name}`] = { username: account.fullName, password: account.robotSecret };
  }
  return robots;
}
