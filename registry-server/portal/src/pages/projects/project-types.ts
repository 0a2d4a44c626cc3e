// Harbor's project as GET /projects returns it (the fields the portal reads).

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
