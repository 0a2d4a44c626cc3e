// What a stack declares inside the registry: users, projects, their members and robot accounts,
// created through the registry's API once the server runs. Reusable by any program that has a
// connection (from LocalRegistry today, from the Kubernetes and AWS targets later).

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import { Project } from "./project";
import { declareProjectAccess, type DeclaredMember, type DeclaredRobot, type RobotCredentials } from "./project-access";
import { User } from "./user";

export interface DeclaredUser {
  /** The login name. */
  username: string;
  /** 8 to 128 characters with an upper case letter, a lower case letter and a digit; kept as a secret. */
  password: string;
  /** Change to set the password again (after someone changed it by hand). */
  passwordVersion: number;
  /** E-mail address. */
  email: string;
  /** Full name shown in the registry. */
  realname: string;
}

export interface DeclaredProject {
  /** Project name: lowercase letters and digits, with . _ - between them. */
  name: string;
  /** Anonymous users may pull from a public project. */
  public: boolean;
  /** Storage quota in bytes; -1 for none. */
  storageLimit: number;
  /** Other Harbor project metadata, e.g. auto_scan. */
  metadata: Record<string, string>;
  /** The project's members: users of DeclaredContentArgs.users or existing ones. */
  members: DeclaredMember[];
  /** The project's robot accounts; their credentials are in DeclaredContent.robots. */
  robots: DeclaredRobot[];
}

export type { RobotCredentials };

export interface DeclaredContentArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** Local users to create. */
  users: DeclaredUser[];
  /** Projects to create, with their members and robots. */
  projects: DeclaredProject[];
}

export class DeclaredContent extends pulumi.ComponentResource {
  /** Robot credentials by "<project>/<robot name>". */
  public readonly robots: Record<string, RobotCredentials> = {};
  public readonly projectIds: Record<string, pulumi.Output<number>> = {};
  /** The declared users by name, for memberships declared elsewhere (proxy projects). */
  public readonly users: Record<string, User> = {};

  constructor(name: string, args: DeclaredContentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("airlock:registry:DeclaredContent", name, {}, opts);
    const connection = args.connection;

    const users = new Map<string, User>();
    for (const user of args.users) {
      users.set(
        user.username,
        new User(
          `${name}-user-${user.username}`,
          {
            connection,
            username: user.username,
            password: pulumi.secret(user.password),
            passwordVersion: user.passwordVersion,
            email: user.email,
            realname: user.realname,
          },
          { parent: this },
        ),
      );
    }

    for (const [username, user] of users) this.users[username] = user;

    for (const declared of args.projects) {
      const project = new Project(
        `${name}-project-${declared.name}`,
        {
          connection,
          name: declared.name,
          public: declared.public,
          storageLimit: declared.storageLimit,
          metadata: declared.metadata,
        },
        { parent: this },
      );
      this.projectIds[declared.name] = project.projectId;

      Object.assign(
        this.robots,
        declareProjectAccess({
          parent: this,
          connection,
          project,
          projectName: declared.name,
          members: declared.members,
          robots: declared.robots,
          users: this.users,
          memberResourceName: (username) => `${name}-member-${declared.name}-${username}`,
          robotResourceName: (robot) => `${name}-robot-${declared.name}-${robot}`,
        }),
      );
    }

    this.registerOutputs({ robots: this.robots, projectIds: this.projectIds });
  }
}
