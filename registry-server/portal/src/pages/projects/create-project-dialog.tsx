// Creating a project as Harbor's portal does: a name (Harbor's rules in the hint, the server's
// refusal on the field), public or private, and for the system administrator (the only one
// whose storage limit and proxy-cache endpoint the API honours) the quota and the endpoint.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, createdId, list, post } from "../../api.ts";
import { Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { ErrorMessage, errorText, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import { navigate } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { limitBytes, StorageLimitField, type StorageLimit } from "./project-quota.tsx";
import type { Endpoint } from "./project-types.ts";
import { projectsMessages } from "./projects-messages.ts";

/** Errors about the name go on the name's field; any other stays above the buttons. */
function isNameError(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 409 || /project_name|name/i.test(error.message));
}

function EndpointSelect({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const t = useT(projectsMessages);
  // One page of endpoints is plenty for a choice in a form; Harbor's portal lists them the same way.
  const endpoints = useResource((signal) => list<Endpoint>("/registries", { page_size: 100 }, signal), []);
  useEffect(() => {
    const first = endpoints.data?.items[0];
    if (value === "" && first) onChange(String(first.id));
  }, [endpoints.data]);
  if (endpoints.error !== undefined) return <ErrorMessage error={endpoints.error} retry={endpoints.reload} />;
  if (!endpoints.data) return <Loading />;
  if (endpoints.data.items.length === 0) return <p class="notice">{t("noEndpoints")}</p>;
  return (
    <Field label={t("endpoint")} hint={t("endpointHint")}>
      {(control) => (
        <select {...control} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
          {endpoints.data?.items.map((endpoint) => (
            <option key={endpoint.id} value={String(endpoint.id)}>
              {endpoint.name} ({endpoint.url})
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function CreateProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const t = useT(projectsMessages);
  const tc = useT(common);
  const user = useUser();
  const [name, setName] = useState("");
  const [isPublic, setPublic] = useState(false);
  const [limit, setLimit] = useState<StorageLimit>({ amount: "-1", unit: "GiB" });
  const [proxy, setProxy] = useState(false);
  const [endpoint, setEndpoint] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [limitError, setLimitError] = useState<string>();
  const nameInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!open) return;
    setName("");
    setPublic(false);
    setLimit({ amount: "-1", unit: "GiB" });
    setProxy(false);
    setEndpoint("");
    setError(undefined);
    setLimitError(undefined);
  }, [open]);

  const submit = async (event: Event) => {
    event.preventDefault();
    const storage = limitBytes(limit);
    if (user.sysadmin_flag && storage === undefined) {
      setLimitError(t("storageLimitHint"));
      return;
    }
    setLimitError(undefined);
    setBusy(true);
    setError(undefined);
    try {
      const reply = await post("/projects", {
        project_name: name.trim(),
        metadata: { public: String(isPublic) },
        ...(user.sysadmin_flag && { storage_limit: storage }),
        ...(user.sysadmin_flag && proxy && endpoint !== "" && { registry_id: Number(endpoint) }),
      });
      const id = createdId(reply);
      onClose();
      navigate(id === undefined ? "/projects" : `/projects/${id}`);
    } catch (err) {
      setError(err);
      // The field now says why: focus brings its description to the screen reader.
      if (isNameError(err)) nameInput.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const nameError = error !== undefined && isNameError(error) ? errorText(error) : undefined;
  return (
    <Dialog open={open} title={t("createTitle")} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label={t("projectName")} hint={t("projectNameHint")} {...(nameError && { error: nameError })}>
          {(control) => (
            <input
              {...control}
              ref={nameInput}
              type="text"
              required
              autoComplete="off"
              spellcheck={false}
              value={name}
              onInput={(event) => setName(event.currentTarget.value)}
            />
          )}
        </Field>
        <div class="checkbox">
          <input
            id="create-project-public"
            type="checkbox"
            checked={isPublic}
            onChange={(event) => setPublic(event.currentTarget.checked)}
          />
          <label for="create-project-public">{t("publicLabel")}</label>
        </div>
        {user.sysadmin_flag && (
          <>
            <StorageLimitField value={limit} onChange={setLimit} error={limitError} />
            <div class="checkbox">
              <input
                id="create-project-proxy"
                type="checkbox"
                checked={proxy}
                onChange={(event) => setProxy(event.currentTarget.checked)}
              />
              <label for="create-project-proxy">{t("proxyCacheLabel")}</label>
            </div>
            {proxy && <EndpointSelect value={endpoint} onChange={setEndpoint} />}
          </>
        )}
        {error !== undefined && !nameError && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="button" onClick={onClose}>
            {tc("cancel")}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? t("creating") : tc("create")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
