// Pieces the endpoint pages share: the health badge, the "Test connection" button with its result
// announced in a status region, and the create/edit form (the secret write-only: never shown).

import { useEffect, useState } from "preact/hooks";
import { ApiError, get, post, put } from "../../api.ts";
import { Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { errorText } from "../../components/status.tsx";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import type { Endpoint } from "./endpoint-types.ts";
import { endpointsMessages } from "./endpoints-messages.ts";

export function HealthBadge({ status }: { status: string | undefined }) {
  const t = useT(endpointsMessages);
  if (status === "healthy") return <span class="badge badge-ok">{t("healthy")}</span>;
  if (status === "unhealthy") return <span class="badge badge-critical">{t("unhealthy")}</span>;
  return <span class="badge">{t("unknown")}</span>;
}

/** Harbor's ping by id; the outcome is read out by screen readers (role=status). */
export function TestConnection({ endpoint }: { endpoint: Endpoint }) {
  const t = useT(endpointsMessages);
  const [result, setResult] = useState<{ state: "testing" | "ok" | "failed"; reason?: string }>();
  const test = () => {
    setResult({ state: "testing" });
    post("/registries/ping", { id: endpoint.id }).then(
      () => setResult({ state: "ok" }),
      (error: unknown) => setResult({ state: "failed", reason: errorText(error) }),
    );
  };
  const text =
    result?.state === "testing"
      ? t("testing", { name: endpoint.name })
      : result?.state === "ok"
        ? t("testOk", { name: endpoint.name })
        : result?.state === "failed"
          ? t("testFailed", { name: endpoint.name, reason: result.reason ?? "" })
          : "";
  return (
    <span class="endpoint-test">
      <button
        type="button"
        onClick={test}
        disabled={result?.state === "testing"}
        aria-label={t("testConnectionOf", { name: endpoint.name })}
      >
        {t("testConnection")}
      </button>
      <span role="status" class={result?.state === "failed" ? "test-result test-failed" : "test-result"}>
        {text}
      </span>
    </span>
  );
}

interface FormState {
  name: string;
  type: string;
  url: string;
  description: string;
  insecure: boolean;
  accessKey: string;
  accessSecret: string;
}

/** Creates an endpoint (no `endpoint`) or edits one; `onSaved` after the API accepted it. */
export function EndpointForm({
  open,
  endpoint,
  onClose,
  onSaved,
}: {
  open: boolean;
  endpoint?: Endpoint;
  onClose: () => void;
  onSaved: (name: string) => void;
}) {
  const t = useT(endpointsMessages);
  const tc = useT(common);
  const initial = (): FormState => ({
    name: endpoint?.name ?? "",
    type: endpoint?.type ?? "docker-registry",
    url: endpoint?.url ?? "",
    description: endpoint?.description ?? "",
    insecure: endpoint?.insecure ?? false,
    accessKey: endpoint?.credential?.access_key ?? "",
    accessSecret: "",
  });
  const [form, setForm] = useState<FormState>(initial);
  const [types, setTypes] = useState<string[]>(["docker-registry"]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!open) return;
    setForm(initial());
    setError(undefined);
    get<string[]>("/replication/adapters").then(
      (found) => setTypes(found.length > 0 ? found : ["docker-registry"]),
      () => undefined,
    );
  }, [open, endpoint?.id]);
  const set = (changes: Partial<FormState>) => setForm((previous) => ({ ...previous, ...changes }));
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (endpoint) {
        await put(`/registries/${endpoint.id}`, {
          name: form.name,
          url: form.url,
          description: form.description,
          insecure: form.insecure,
          credential_type: "basic",
          access_key: form.accessKey,
          // Left out, the stored secret stays (Harbor's "*****" rule).
          ...(form.accessSecret !== "" && { access_secret: form.accessSecret }),
        });
      } else {
        await post("/registries", {
          name: form.name,
          type: form.type,
          url: form.url,
          description: form.description,
          insecure: form.insecure,
          ...(form.accessKey !== "" && {
            credential: { type: "basic", access_key: form.accessKey, access_secret: form.accessSecret },
          }),
        });
      }
      onSaved(form.name);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={endpoint ? t("editTitle", { name: endpoint.name }) : t("createTitle")} onClose={onClose}>
      <form onSubmit={(event) => void submit(event)}>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        <Field label={t("name")}>
          {(control) => (
            <input {...control} required value={form.name} onInput={(e) => set({ name: e.currentTarget.value })} />
          )}
        </Field>
        <Field label={t("type")}>
          {(control) => (
            <select
              {...control}
              value={form.type}
              disabled={endpoint !== undefined}
              onChange={(e) => set({ type: e.currentTarget.value })}
            >
              {types.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("url")}>
          {(control) => (
            <input {...control} type="url" value={form.url} onInput={(e) => set({ url: e.currentTarget.value })} />
          )}
        </Field>
        <Field label={t("description")}>
          {(control) => (
            <input {...control} value={form.description} onInput={(e) => set({ description: e.currentTarget.value })} />
          )}
        </Field>
        <Field label={t("accessKey")}>
          {(control) => (
            <input
              {...control}
              autocomplete="off"
              value={form.accessKey}
              onInput={(e) => set({ accessKey: e.currentTarget.value })}
            />
          )}
        </Field>
        <Field label={t("accessSecret")} hint={endpoint ? t("accessSecretHint") : undefined}>
          {(control) => (
            <input
              {...control}
              type="password"
              autocomplete="new-password"
              value={form.accessSecret}
              onInput={(e) => set({ accessSecret: e.currentTarget.value })}
            />
          )}
        </Field>
        <label class="endpoint-checkbox">
          <input type="checkbox" checked={form.insecure} onChange={(e) => set({ insecure: e.currentTarget.checked })} />{" "}
          {t("insecure")}
        </label>
        <div class="actions">
          <button type="button" onClick={onClose}>
            {tc("cancel")}
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {endpoint ? tc("save") : tc("create")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
