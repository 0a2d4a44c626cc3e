// Harbor's project and what its pages read of it: the summary, members, repositories, the audit
// log, proxy-cache endpoints and quotas (the fields the portal reads, as /api/v2.0 returns them).

export interface Project {
  readonly project_id: number;
  readonly name: string;
  readonly registry_id?: number | null;
  readonly repo_count?: number;
  readonly creation_time?: string;
  readonly metadata?: Readonly<Record<string, string | undefined>>;
  readonly current_user_role_id?: number;
}

export function isProxyCache(project: Project): boolean {
  return typeof project.registry_id === "number" && project.registry_id > 0;
}

export function isPublic(project: Project): boolean {
  return project.metadata?.["public"] === "true";
}

/** GET /projects/{id}/summary. */
export interface ProjectSummary {
  readonly repo_count: number;
  readonly project_admin_count?: number;
  readonly maintainer_count?: number;
  readonly developer_count?: number;
  readonly guest_count?: number;
  readonly limited_guest_count?: number;
  readonly quota?: { readonly hard: { readonly storage: number }; readonly used: { readonly storage: number } };
}

export function memberCount(summary: ProjectSummary): number {
  return (
    (summary.project_admin_count ?? 0) +
    (summary.maintainer_count ?? 0) +
    (summary.developer_count ?? 0) +
    (summary.guest_count ?? 0) +
    (summary.limited_guest_count ?? 0)
  );
}

/** GET /quotas: one storage quota per project, `ref.id` the project's id (-1: no limit). */
export interface Quota {
  readonly id: number;
  readonly ref: { readonly id: number; readonly name: string };
  readonly hard: { readonly storage: number };
  readonly used: { readonly storage: number };
}

/** GET /projects/{id}/members. */
export interface Member {
  readonly id: number;
  readonly entity_name: string;
  readonly entity_type: string;
  readonly role_id: number;
  readonly role_name?: string;
}

/** GET /projects/{name}/repositories: `name` is the full name, project included ("library/nginx"). */
export interface Repository {
  readonly id: number;
  readonly name: string;
  readonly artifact_count?: number;
  readonly pull_count?: number;
  readonly update_time?: string;
}

/** GET /registries: the endpoints a proxy-cache project pulls through. */
export interface Endpoint {
  readonly id: number;
  readonly name: string;
  readonly url: string;
  readonly type: string;
}

/** GET /systeminfo: who may create projects. */
export interface SystemInfo {
  readonly project_creation_restriction?: string;
}
