// What a stack declares inside the registry: users, projects (with their security gate), their
// members and robot accounts, each project's retention policy, immutable tag rules and webhook
// policies, the registry's garbage collection and audit log purge schedules, its CVE allowlist
// and its external scanner adapters, created through the registry's API once the server runs.
// (Replication policies, which need the upstream endpoints, are DeclaredReplication's.)
// Reusable by any program that has a connection (from any target's RegistryServer).

import * as pulumi from "@pulumi/pulumi";
import type { RegistryConnection } from "./api-client";
import { AuditLogPurgeSchedule, type AuditLogPurgeScheduleArgs } from "./audit-purge-schedule";
import { GarbageCollectionSchedule, type GarbageCollectionScheduleArgs } from "./gc-schedule";
import { ImmutableTagRule } from "./immutable-tag-rule";
import { MATCH_ALL, type PatternSelector } from "./pattern-selector";
import { Project } from "./project";
import type { CveAllowlist, Severity } from "./project-security";
import { Scanner, type ScannerArgs } from "./scanner";
import { SystemCveAllowlist } from "./system-cve-allowlist";
import { declareProjectAccess, type DeclaredMember, type DeclaredRobot, type RobotCredentials } from "./project-access";
import { RetentionPolicy, type RetentionRuleArgs } from "./retention-policy";
import { User } from "./user";
import {
  WebhookPolicy,
  type WebhookEventType,
  type WebhookPayloadFormat,
  type WebhookTargetArgs,
  type WebhookTargetType,
} from "./webhook-policy";

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

/** A project's security gate; the fields are ProjectSecurityArgs's. */
export interface DeclaredProjectSecurity {
  /** Scan on push (a proxy project: on pull-through). */
  autoScan?: boolean | undefined;
  /** The lowest severity whose pulls are refused, or false. */
  preventVulnerable?: Severity | false | undefined;
  /** With preventVulnerable: scans made with a stale database vouch for nothing. */
  preventStaleScan?: boolean | undefined;
  /** The project's own CVE allowlist (expiresAt: an ISO date or time, or Unix seconds). */
  cveAllowlist?: { items: string[]; expiresAt?: string | number | undefined } | undefined;
  /** Judge pulls by the system's allowlist instead. */
  reuseSystemCveAllowlist?: boolean | undefined;
  /** An SBOM for each pushed image. */
  autoSbom?: boolean | undefined;
  /** Refuse pulls of artifacts without a cosign signature. */
  requireSignature?: boolean | undefined;
  /** PEM public keys whose signature counts (with requireSignature). */
  trustedKeys?: string[] | undefined;
}

/** The security settings of a declaration, as a Project's arguments (unset ones left out). */
export function securityArgs(declared: DeclaredProjectSecurity): DeclaredProjectSecurity {
  const {
    autoScan,
    preventVulnerable,
    preventStaleScan,
    cveAllowlist,
    reuseSystemCveAllowlist,
    autoSbom,
    requireSignature,
    trustedKeys,
  } = declared;
  return Object.fromEntries(
    Object.entries({
      autoScan,
      preventVulnerable,
      preventStaleScan,
      cveAllowlist,
      reuseSystemCveAllowlist,
      autoSbom,
      requireSignature,
      trustedKeys,
    }).filter(([, value]) => value !== undefined),
  );
}

export interface DeclaredProject extends DeclaredProjectSecurity {
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
  /** The project's tag retention policy; left out, it has none. */
  retention?: DeclaredRetention | undefined;
  /** The project's immutable tag rules. */
  immutableTags?: DeclaredImmutableTagRule[] | undefined;
  /** The project's webhook policies. */
  webhooks?: DeclaredWebhook[] | undefined;
}

/** A webhook target; the fields are WebhookTargetArgs's. */
export interface DeclaredWebhookTarget {
  /** e.g. https://security.dmz.internal/hooks/registry. */
  address: string;
  /** http (default) or slack. */
  type?: WebhookTargetType | undefined;
  /** The Authorization header sent with each delivery; kept as a secret. */
  authHeader?: string | undefined;
  skipCertVerify?: boolean | undefined;
  /** An http target's: Default or CloudEvents. */
  payloadFormat?: WebhookPayloadFormat | undefined;
}

/** A webhook policy of a project; the fields are WebhookPolicyArgs's. */
export interface DeclaredWebhook {
  /** Unique in the project. */
  name: string;
  description?: string | undefined;
  /** Where the events go. */
  targets: DeclaredWebhookTarget[];
  /** Change to send the auth headers again. */
  authHeaderVersion?: number | undefined;
  /** Harbor's event types, e.g. SCANNING_COMPLETED. */
  eventTypes: string[];
  enabled?: boolean | undefined;
}

/** A retention policy; the fields are RetentionPolicyArgs's. */
export interface DeclaredRetention {
  /** Hourly, Daily, Weekly (any case), a six-field cron, or "None". */
  schedule: string;
  /** 1 to 15 rules; any one keeps an artifact. */
  rules: RetentionRuleArgs[];
}

/** An immutable tag rule; the fields are ImmutableTagRuleArgs's. */
export interface DeclaredImmutableTagRule {
  /** Default `{ matches: "**" }`. */
  repositories?: PatternSelector | undefined;
  tags: PatternSelector;
  disabled?: boolean | undefined;
}

/** A rule's part of a resource name: what tells two rules of a project apart (never its index). */
function immutableRuleKey(rule: DeclaredImmutableTagRule): string {
  const part = (selector: PatternSelector): string => selector.matches ?? `!${selector.excludes ?? ""}`;
  return `${part(rule.repositories ?? MATCH_ALL)}-${part(rule.tags)}`;
}

export type { RobotCredentials };

export interface DeclaredContentArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** Local users to create. */
  users: DeclaredUser[];
  /** Projects to create, with their members and robots. */
  projects: DeclaredProject[];
  /** The registry's garbage collection schedule; left out, it is not managed. */
  garbageCollection?: Omit<GarbageCollectionScheduleArgs, "connection"> | undefined;
  /** The registry's audit log purge schedule; left out, it is not managed. */
  auditLogPurge?: Omit<AuditLogPurgeScheduleArgs, "connection"> | undefined;
  /** The registry's CVE allowlist; left out, it is not managed. */
  systemCveAllowlist?: CveAllowlist | undefined;
  /** External scanner adapters to register. */
  scanners?: Array<Omit<ScannerArgs, "connection">> | undefined;
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
          ...securityArgs(declared),
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

      if (declared.retention) {
        new RetentionPolicy(
          `${name}-retention-${declared.name}`,
          { connection, project: project.name, schedule: declared.retention.schedule, rules: declared.retention.rules },
          { parent: this },
        );
      }
      for (const rule of declared.immutableTags ?? []) {
        new ImmutableTagRule(
          `${name}-immutable-${declared.name}-${immutableRuleKey(rule)}`,
          {
            connection,
            project: project.name,
            repositories: rule.repositories ?? MATCH_ALL,
            tags: rule.tags,
            disabled: rule.disabled ?? false,
          },
          { parent: this },
        );
      }
      for (const webhook of declared.webhooks ?? []) {
        new WebhookPolicy(
          `${name}-webhook-${declared.name}-${webhook.name}`,
          {
            connection,
            project: project.name,
            name: webhook.name,
            ...(webhook.description !== undefined && { description: webhook.description }),
            // Undefined fields left out: the provider fills the defaults.
            targets: webhook.targets.map(
              (target) =>
                Object.fromEntries(
                  Object.entries(target).filter(([, value]) => value !== undefined),
                ) as unknown as WebhookTargetArgs,
            ),
            ...(webhook.authHeaderVersion !== undefined && { authHeaderVersion: webhook.authHeaderVersion }),
            eventTypes: webhook.eventTypes as WebhookEventType[],
            ...(webhook.enabled !== undefined && { enabled: webhook.enabled }),
          },
          { parent: this },
        );
      }
    }

    if (args.garbageCollection) {
      new GarbageCollectionSchedule(`${name}-gc-schedule`, { connection, ...args.garbageCollection }, { parent: this });
    }
    if (args.auditLogPurge) {
      new AuditLogPurgeSchedule(
        `${name}-audit-purge-schedule`,
        { connection, ...args.auditLogPurge },
        { parent: this },
      );
    }

    if (args.systemCveAllowlist) {
      new SystemCveAllowlist(
        `${name}-system-cve-allowlist`,
        { connection, ...args.systemCveAllowlist },
        { parent: this },
      );
    }
    for (const scanner of args.scanners ?? []) {
      new Scanner(
        `${name}-scanner-${scanner.name as string}`,
        {
          connection,
          ...scanner,
          ...(scanner.accessCredential !== undefined && { accessCredential: pulumi.secret(scanner.accessCredential) }),
        },
        { parent: this },
      );
    }

    this.registerOutputs({ robots: this.robots, projectIds: this.projectIds });
  }
}
