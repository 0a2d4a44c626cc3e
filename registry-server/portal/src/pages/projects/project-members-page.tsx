// A project's members (/projects/:id/members) with Harbor's five roles: listed a page at a time
// with the stack that declared each (kind `member`, key `<project>/<username>`); added by
// username, their role changed, removed, by the project's administrators, each change to a
// declared member guarded.

import { useEffect, useState } from "preact/hooks";
import { del, post, put } from "../../api.ts";
import { DeclaredMark, useDeclarations, useDeclaredGuard } from "../../components/declared-by.tsx";
import { ConfirmDialog, Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { ErrorMessage, errorText } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "./project-frame.tsx";
import { projectAbilities, ROLE, ROLE_IDS, roleKey } from "./project-abilities.ts";
import type { Member, Project } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";
import "./projects.css";

function RoleSelect({
  value,
  onChange,
  control,
}: {
  value: number;
  onChange: (role: number) => void;
  control: object;
}) {
  const t = useT(projectsMessages);
  return (
    <select {...control} value={String(value)} onChange={(event) => onChange(Number(event.currentTarget.value))}>
      {ROLE_IDS.map((id) => {
        const key = roleKey(id);
        return (
          <option key={id} value={String(id)}>
            {key ? t(key) : id}
          </option>
        );
      })}
    </select>
  );
}

function AddMemberDialog({
  project,
  open,
  onClose,
  onAdded,
}: {
  project: Project;
  open: boolean;
  onClose: () => void;
  onAdded: () => void;
}) {
  const t = useT(projectsMessages);
  const tc = useT(common);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<number>(ROLE.developer);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!open) return;
    setUsername("");
    setRole(ROLE.developer);
    setError(undefined);
  }, [open]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await post(`/projects/${project.project_id}/members`, {
        role_id: role,
        member_user: { username: username.trim() },
      });
      onClose();
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={t("addMemberTitle", { project: project.name })} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label={t("username")} hint={t("usernameHint")} {...(error !== undefined && { error: errorText(error) })}>
          {(control) => (
            <input
              {...control}
              type="text"
              required
              autoComplete="off"
              value={username}
              onInput={(event) => setUsername(event.currentTarget.value)}
            />
          )}
        </Field>
        <Field label={t("role")}>{(control) => <RoleSelect control={control} value={role} onChange={setRole} />}</Field>
        <div class="actions">
          <button type="button" onClick={onClose}>
            {tc("cancel")}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {t("addMember")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Members({ project }: { project: Project }) {
  const t = useT(projectsMessages);
  const tc = useT(common);
  const user = useUser();
  const abilities = projectAbilities(user, project);
  const members = usePagedList<Member>(`/projects/${project.project_id}/members`, (search) =>
    search ? { entityname: search } : {},
  );
  const declarations = useDeclarations("member", [members.data]);
  const memberKey = (member: Member | undefined) => (member ? `${project.name}/${member.entity_name}` : undefined);
  const declarationOf = (member: Member | undefined) => declarations.data?.get(memberKey(member) ?? "");
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<{ member: Member; role: number }>();
  const [removing, setRemoving] = useState<Member>();
  const [error, setError] = useState<unknown>();
  // The member being changed decides which stack, if any, the warning names.
  const { guard, dialog } = useDeclaredGuard("member", memberKey(editing?.member ?? removing));

  const change = (event: Event) => {
    event.preventDefault();
    const target = editing;
    if (!target) return;
    guard(() => {
      setEditing(undefined);
      setError(undefined);
      put(`/projects/${project.project_id}/members/${target.member.id}`, { role_id: target.role }).then(
        members.reload,
        (err: unknown) => setError(err),
      );
    });
  };
  const remove = () => {
    const target = removing;
    if (!target) return;
    guard(() => {
      setRemoving(undefined);
      setError(undefined);
      del(`/projects/${project.project_id}/members/${target.id}`).then(members.reload, (err: unknown) => setError(err));
    });
  };

  return (
    <>
      <h2>{t("membersTitle")}</h2>
      <div class="toolbar">
        <SearchForm
          id="member-search"
          label={t("searchMembers")}
          search={members.search}
          setSearch={members.setSearch}
        />
        {abilities.administer && (
          <button type="button" class="primary" onClick={() => setAdding(true)}>
            {t("addMember")}
          </button>
        )}
      </div>
      {error !== undefined && <ErrorMessage error={error} />}
      <PagedTable
        list={members}
        caption={t("membersTitle")}
        rowKey={(member) => member.id}
        columns={[
          {
            header: t("memberName"),
            cell: (member) => (
              <>
                {member.entity_name} <DeclaredMark declaration={declarationOf(member)} />
              </>
            ),
          },
          { header: t("memberType"), cell: () => t("user") },
          {
            header: t("role"),
            cell: (member) => {
              const key = roleKey(member.role_id);
              return key ? t(key) : (member.role_name ?? String(member.role_id));
            },
          },
          ...(abilities.administer
            ? [
                {
                  header: t("actions"),
                  cell: (member: Member) => (
                    <span class="toolbar">
                      <button type="button" onClick={() => setEditing({ member, role: member.role_id })}>
                        {t("changeRole", { name: member.entity_name })}
                      </button>
                      <button type="button" onClick={() => setRemoving(member)}>
                        {t("removeMember", { name: member.entity_name })}
                      </button>
                    </span>
                  ),
                },
              ]
            : []),
        ]}
      />
      <AddMemberDialog project={project} open={adding} onClose={() => setAdding(false)} onAdded={members.reload} />
      <Dialog
        open={editing !== undefined}
        title={t("changeRoleTitle", { name: editing?.member.entity_name ?? "" })}
        onClose={() => setEditing(undefined)}
      >
        <form onSubmit={change}>
          <Field label={t("role")}>
            {(control) => (
              <RoleSelect
                control={control}
                value={editing?.role ?? ROLE.developer}
                onChange={(role) => setEditing((current) => current && { ...current, role })}
              />
            )}
          </Field>
          <div class="actions">
            <button type="button" onClick={() => setEditing(undefined)}>
              {tc("cancel")}
            </button>
            <button type="submit" class="primary">
              {tc("save")}
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={removing !== undefined}
        title={t("removeMemberTitle", { name: removing?.entity_name ?? "", project: project.name })}
        confirmLabel={t("removeMember", { name: removing?.entity_name ?? "" })}
        danger
        onCancel={() => setRemoving(undefined)}
        onConfirm={remove}
      >
        <p>{t("removeMemberText")}</p>
      </ConfirmDialog>
      {dialog}
    </>
  );
}

export function ProjectMembersPage({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("membersTitle")}>
      {(project) => <Members project={project} />}
    </ProjectFrame>
  );
}
