// The administrator's users (Harbor's /users): a page at a time with a search, a new user (the
// server's password rule checked before sending), and per user: administrator or not, a new
// password, delete. Each change to a user a stack declared asks first.

import { useState } from "preact/hooks";
import { del, post, put } from "../../api.ts";
import { DeclaredMark, useDeclarations, useDeclaredGuard } from "../../components/declared-by.tsx";
import { ConfirmDialog, Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { ErrorMessage, errorText } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { useUser, type CurrentUser } from "../../session.tsx";
import { adminMessages } from "./admin-messages.ts";

interface User extends CurrentUser {
  readonly creation_time?: string;
}

/** The server's rule (user-routes.ts), checked here so the form can say why before sending. */
export function acceptablePassword(password: string): boolean {
  return (
    password.length >= 8 &&
    password.length <= 128 &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    /\d/.test(password)
  );
}

function PasswordFields({
  password,
  confirm,
  onPassword,
  onConfirm,
  showErrors,
}: {
  password: string;
  confirm: string;
  onPassword: (value: string) => void;
  onConfirm: (value: string) => void;
  showErrors: boolean;
}) {
  const t = useT(adminMessages);
  return (
    <>
      <Field
        label={t("password")}
        hint={t("passwordRule")}
        error={showErrors && !acceptablePassword(password) ? t("passwordWeak") : undefined}
      >
        {(control) => (
          <input
            {...control}
            type="password"
            autocomplete="new-password"
            required
            value={password}
            onInput={(e) => onPassword(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field
        label={t("confirmPassword")}
        error={showErrors && confirm !== password ? t("passwordMismatch") : undefined}
      >
        {(control) => (
          <input
            {...control}
            type="password"
            autocomplete="new-password"
            required
            value={confirm}
            onInput={(e) => onConfirm(e.currentTarget.value)}
          />
        )}
      </Field>
    </>
  );
}

function NewUserDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (name: string) => void;
}) {
  const t = useT(adminMessages);
  const tc = useT(common);
  const [form, setForm] = useState({ username: "", email: "", realname: "", password: "", confirm: "" });
  const [tried, setTried] = useState(false);
  const [error, setError] = useState<string>();
  const set = (changes: Partial<typeof form>) => setForm((previous) => ({ ...previous, ...changes }));
  const submit = (event: Event) => {
    event.preventDefault();
    setTried(true);
    if (!acceptablePassword(form.password) || form.password !== form.confirm) return;
    post("/users", {
      username: form.username,
      email: form.email,
      realname: form.realname,
      password: form.password,
    }).then(
      () => {
        setForm({ username: "", email: "", realname: "", password: "", confirm: "" });
        setTried(false);
        setError(undefined);
        onCreated(form.username);
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  return (
    <Dialog open={open} title={t("createUser")} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        <Field label={t("username")}>
          {(control) => (
            <input
              {...control}
              required
              autocomplete="off"
              value={form.username}
              onInput={(e) => set({ username: e.currentTarget.value })}
            />
          )}
        </Field>
        <Field label={t("email")}>
          {(control) => (
            <input
              {...control}
              type="email"
              value={form.email}
              onInput={(e) => set({ email: e.currentTarget.value })}
            />
          )}
        </Field>
        <Field label={t("realname")}>
          {(control) => (
            <input {...control} value={form.realname} onInput={(e) => set({ realname: e.currentTarget.value })} />
          )}
        </Field>
        <PasswordFields
          password={form.password}
          confirm={form.confirm}
          onPassword={(password) => set({ password })}
          onConfirm={(confirm) => set({ confirm })}
          showErrors={tried}
        />
        <div class="actions">
          <button type="button" onClick={onClose}>
            {tc("cancel")}
          </button>
          <button type="submit" class="primary">
            {tc("create")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function UserActions({ user, onDone }: { user: User; onDone: (message: string, error?: unknown) => void }) {
  const t = useT(adminMessages);
  const tc = useT(common);
  const me = useUser();
  const { guard, dialog } = useDeclaredGuard("user", user.username);
  const [resetting, setResetting] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [tried, setTried] = useState(false);
  if (me.user_id === user.user_id) return null;
  const done = (message: string) => () => onDone(message);
  const failed = (err: unknown) => onDone("", err);
  return (
    <span class="toolbar">
      <button
        type="button"
        onClick={() =>
          guard(() => {
            put(`/users/${user.user_id}/sysadmin`, { sysadmin_flag: !user.sysadmin_flag }).then(
              done(t("changed", { name: user.username })),
              failed,
            );
          })
        }
      >
        {user.sysadmin_flag ? t("removeAdmin", { name: user.username }) : t("makeAdmin", { name: user.username })}
      </button>
      <button type="button" onClick={() => guard(() => setResetting(true))}>
        {t("resetPassword", { name: user.username })}
      </button>
      <button type="button" class="danger" onClick={() => guard(() => setDeleting(true))}>
        {t("deleteUser", { name: user.username })}
      </button>
      <Dialog open={resetting} title={t("resetTitle", { name: user.username })} onClose={() => setResetting(false)}>
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setTried(true);
            if (!acceptablePassword(password) || password !== confirm) return;
            setResetting(false);
            put(`/users/${user.user_id}/password`, { new_password: password }).then(
              done(t("passwordReset", { name: user.username })),
              failed,
            );
          }}
        >
          <PasswordFields
            password={password}
            confirm={confirm}
            onPassword={setPassword}
            onConfirm={setConfirm}
            showErrors={tried}
          />
          <div class="actions">
            <button type="button" onClick={() => setResetting(false)}>
              {tc("cancel")}
            </button>
            <button type="submit" class="primary">
              {tc("save")}
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={deleting}
        title={t("deleteTitle", { name: user.username })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setDeleting(false)}
        onConfirm={() => {
          setDeleting(false);
          del(`/users/${user.user_id}`).then(done(t("deletedUser", { name: user.username })), failed);
        }}
      >
        <p>{t("deleteText")}</p>
      </ConfirmDialog>
      {dialog}
    </span>
  );
}

export function UsersPage() {
  const t = useT(adminMessages);
  const tc = useT(common);
  const format = useFormat();
  useTitle(t("usersTitle"));
  const users = usePagedList<User>("/users", (search) => (search ? { q: `username=~${search}` } : {}));
  const declarations = useDeclarations("user", [users.data]);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  const after = (message: string, error?: unknown) => {
    setFailure(error);
    setNotice(message);
    users.reload();
  };
  return (
    <>
      <h1>{t("usersTitle")}</h1>
      <div class="toolbar">
        <SearchForm id="user-search" label={t("searchLabel")} search={users.search} setSearch={users.setSearch} />
        {users.data && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t("newUser")}
          </button>
        )}
      </div>
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
      <PagedTable
        list={users}
        caption={t("usersList")}
        rowKey={(user) => user.user_id}
        columns={[
          {
            header: t("username"),
            cell: (user) => (
              <>
                {user.username} <DeclaredMark declaration={declarations.data?.get(user.username)} />
              </>
            ),
          },
          { header: t("email"), cell: (user) => user.email ?? "" },
          { header: t("realname"), cell: (user) => user.realname ?? "" },
          { header: t("administrator"), cell: (user) => (user.sysadmin_flag ? tc("yes") : tc("no")) },
          { header: t("created"), cell: (user) => format.dateTime(user.creation_time) },
          {
            header: t("actions"),
            cell: (user) => <UserActions user={user} onDone={after} />,
          },
        ]}
      />
      <NewUserDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(name) => {
          setCreating(false);
          after(t("userCreated", { name }));
        }}
      />
    </>
  );
}
