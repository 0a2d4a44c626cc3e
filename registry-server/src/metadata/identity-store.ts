// The identity areas of the metadata store: local users, projects with their metadata and
// members, robot accounts, and the audit log. They follow Harbor's model (project roles,
// robot permissions, audit entries) because the management API is Harbor's.
//
// Ids are integers assigned by the store, as Harbor's are. Names are unique: creating a second
// user, project or robot with a taken name rejects with ConflictError. List methods take an
// offset and a limit (Harbor's page and page_size) and return the total count for X-Total-Count.
// The contract suite in test/contracts/identity-store-contract.ts pins these semantics down.

/** Harbor's project roles. */
export const ROLES = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;
export type RoleId = (typeof ROLES)[keyof typeof ROLES];
export const ROLE_NAMES: Readonly<Record<RoleId, string>> = {
  1: "projectAdmin",
  2: "developer",
  3: "guest",
  4: "maintainer",
  5: "limitedGuest",
};

export class ConflictError extends Error {
  override name = "ConflictError";
}

export interface Listing<T> {
  readonly items: T[];
  /** How many match the filter, regardless of offset and limit. */
  readonly total: number;
}

export interface Window {
  readonly offset: number;
  readonly limit: number;
}

export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly realname: string;
  readonly comment: string;
  /** PHC-format scrypt hash (auth/password-hash.ts). */
  readonly passwordHash: string;
  readonly sysadmin: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewUser = Omit<UserRecord, "id" | "createdAt" | "updatedAt">;
export type UserChanges = Partial<Omit<NewUser, "username">>;

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly ownerId: number;
  /** Harbor's project metadata, values as strings ("true"). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Storage quota in bytes; -1 for none. */
  readonly storageLimit: number;
  /** The upstream registry endpoint of a proxy-cache project. */
  readonly registryId?: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewProject = Omit<ProjectRecord, "id" | "createdAt" | "updatedAt">;
export type ProjectChanges = Partial<Pick<ProjectRecord, "metadata" | "storageLimit" | "registryId">>;

export interface ProjectFilter {
  /** Substring of the name. */
  readonly name?: string;
  readonly public?: boolean;
  /** Only projects where this user is a member. */
  readonly memberUserId?: number;
  /** Only these ids (combined with the rest). */
  readonly ids?: readonly number[];
}

/**
 * A project's figures for the metrics (Harbor's exporter: quota usage, repositories, members),
 * read for every project at once.
 */
export interface ProjectUsage {
  readonly name: string;
  /** As `storageUsed` counts it: the distinct blobs linked in the project's repositories. */
  readonly storageUsed: number;
  /** As `repositoryCount` counts them. */
  readonly repositories: number;
  readonly members: number;
}

export interface MemberRecord {
  readonly id: number;
  readonly projectId: number;
  readonly userId: number;
  readonly roleId: RoleId;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface RobotAccess {
  readonly resource: string;
  readonly action: string;
  readonly effect?: string;
}

export interface RobotPermission {
  /** "project" (namespace = a project name, or "*" for every project) or "system". */
  readonly kind: string;
  readonly namespace: string;
  readonly access: readonly RobotAccess[];
}

export interface RobotRecord {
  readonly id: number;
  /** The full name: robot$<name> (system) or robot$<project>+<name> (project). */
  readonly name: string;
  readonly description: string;
  readonly level: "system" | "project";
  /** The project of a project-level robot. */
  readonly projectId?: number;
  /** Lifetime in days; -1 never expires. */
  readonly duration: number;
  /** Unix seconds; -1 never. */
  readonly expiresAt: number;
  readonly disabled: boolean;
  readonly secretHash: string;
  readonly permissions: readonly RobotPermission[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type NewRobot = Omit<RobotRecord, "id" | "createdAt" | "updatedAt">;
export type RobotChanges = Partial<
  Pick<RobotRecord, "description" | "duration" | "expiresAt" | "disabled" | "secretHash" | "permissions">
>;

export interface RobotFilter {
  readonly level?: "system" | "project";
  readonly projectId?: number;
  /** Substring of the name. */
  readonly name?: string;
}

export interface AuditRecord {
  readonly id: number;
  readonly username: string;
  /** What was acted on: "library/nginx:1.25", "project/library", "robot$ci"… */
  readonly resource: string;
  /** "artifact", "repository", "project", "robot", "user", "member", "quota"… */
  readonly resourceType: string;
  /** "create", "delete", "pull", "push", "update"… */
  readonly operation: string;
  readonly success: boolean;
  /** The project the entry belongs to, for the project-scoped log. */
  readonly projectId?: number;
  readonly opTime: Date;
}

export type NewAuditRecord = Omit<AuditRecord, "id">;

export interface AuditFilter {
  readonly projectId?: number;
  /** Only entries of any of these projects. */
  readonly projectIds?: readonly number[];
  readonly username?: string;
  /** Any of these operations. */
  readonly operations?: readonly string[];
  /** Any of these resource types. */
  readonly resourceTypes?: readonly string[];
  /** Substring of the resource. */
  readonly resource?: string;
  readonly from?: Date;
  readonly to?: Date;
}

export interface UserMetadata {
  create(user: NewUser, at: Date): Promise<UserRecord>;
  get(id: number): Promise<UserRecord | undefined>;
  getByName(username: string): Promise<UserRecord | undefined>;
  /** Ordered by id; `username` filters by substring. */
  list(filter: { username?: string }, window: Window): Promise<Listing<UserRecord>>;
  update(id: number, changes: UserChanges, at: Date): Promise<UserRecord | undefined>;
  /** Deletes the user and their memberships; false when there was none. */
  delete(id: number): Promise<boolean>;
}

export interface ProjectMetadataArea {
  create(project: NewProject, at: Date): Promise<ProjectRecord>;
  get(id: number): Promise<ProjectRecord | undefined>;
  getByName(name: string): Promise<ProjectRecord | undefined>;
  /** Ordered by name. */
  list(filter: ProjectFilter, window: Window): Promise<Listing<ProjectRecord>>;
  update(id: number, changes: ProjectChanges, at: Date): Promise<ProjectRecord | undefined>;
  /** Deletes the project, its members and its project-level robots; false when there was none. */
  delete(id: number): Promise<boolean>;
  /** Repositories named `<project>/…`. */
  repositoryCount(name: string): Promise<number>;
  /** Bytes of the distinct blobs linked in the project's repositories (each blob counted once). */
  storageUsed(name: string): Promise<number>;
  /** Every project's usage, ordered by name: a few grouped queries, whatever the number of projects. */
  usage(): Promise<ProjectUsage[]>;
}

export interface MemberMetadata {
  add(projectId: number, userId: number, roleId: RoleId, at: Date): Promise<MemberRecord>;
  get(projectId: number, memberId: number): Promise<MemberRecord | undefined>;
  /** Ordered by id. */
  list(projectId: number): Promise<MemberRecord[]>;
  roleOf(projectId: number, userId: number): Promise<RoleId | undefined>;
  update(projectId: number, memberId: number, roleId: RoleId, at: Date): Promise<MemberRecord | undefined>;
  delete(projectId: number, memberId: number): Promise<boolean>;
}

export interface RobotMetadata {
  create(robot: NewRobot, at: Date): Promise<RobotRecord>;
  get(id: number): Promise<RobotRecord | undefined>;
  getByName(name: string): Promise<RobotRecord | undefined>;
  /** Ordered by id. */
  list(filter: RobotFilter, window: Window): Promise<Listing<RobotRecord>>;
  update(id: number, changes: RobotChanges, at: Date): Promise<RobotRecord | undefined>;
  delete(id: number): Promise<boolean>;
}

/**
 * The entries an audit log purge removes: older than `before`, and either of an operation in
 * `operations` or of an event type (`<operation>_<resource type>`, Harbor's `create_artifact`) in
 * `eventTypes`. With both lists empty, none.
 */
export interface AuditPurge {
  readonly before: Date;
  readonly operations: readonly string[];
  readonly eventTypes: readonly string[];
}

export interface AuditMetadata {
  append(entry: NewAuditRecord): Promise<void>;
  /** Newest first. */
  list(filter: AuditFilter, window: Window): Promise<Listing<AuditRecord>>;
  /** How many entries `purge` selects. */
  countPurgeable(purge: AuditPurge): Promise<number>;
  /** Deletes at most `limit` of the entries `purge` selects, oldest first; returns how many went. */
  deletePurgeable(purge: AuditPurge, limit: number): Promise<number>;
}

export interface IdentityAreas {
  readonly users: UserMetadata;
  readonly projects: ProjectMetadataArea;
  readonly members: MemberMetadata;
  readonly robots: RobotMetadata;
  readonly audit: AuditMetadata;
}
