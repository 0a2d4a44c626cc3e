// The administrator's system settings (Harbor's /configurations): the editable ones grouped,
// saved with one PUT of what changed; and the system CVE allowlist (/system/CVEAllowlist),
// guarded when a stack declared it (kind cve_allowlist, key "system"); no stack declares the
// other settings.

import { useEffect, useState } from "preact/hooks";
import { get, put } from "../../api.ts";
import { DeclaredBanner, useDeclaration, useDeclaredGuard } from "../../components/declared-by.tsx";
import { Field } from "../../components/field.tsx";
import { ErrorMessage, Loading } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { useTitle } from "../../hooks/use-title.ts";
import { useT } from "../../i18n/i18n.tsx";
import { adminMessages } from "./admin-messages.ts";
import "./admin.css";

type Value = string | number | boolean;
type Configurations = Record<string, { value: Value; editable: boolean }>;

const GROUPS = [
  { label: "groupAuth", keys: ["session_timeout", "token_expiration"] },
  { label: "groupProjects", keys: ["project_creation_restriction", "quota_per_project_enable", "storage_per_project"] },
  { label: "groupRobots", keys: ["robot_token_duration", "robot_name_prefix"] },
  {
    label: "groupSystem",
    keys: ["read_only", "notification_enable", "banner_message", "scanner_skip_update_pulltime"],
  },
  {
    label: "groupAudit",
    keys: ["audit_log_forward_endpoint", "skip_audit_log_database", "disabled_audit_log_event_types"],
  },
] as const;

type SettingKey = (typeof GROUPS)[number]["keys"][number];

function SettingControl({
  name,
  value,
  onChange,
}: {
  name: SettingKey;
  value: Value;
  onChange: (value: Value) => void;
}) {
  const t = useT(adminMessages);
  if (typeof value === "boolean") {
    return (
      <div class="field">
        <label>
          <input type="checkbox" checked={value} onChange={(e) => onChange(e.currentTarget.checked)} /> {t(name)}
        </label>
      </div>
    );
  }
  if (name === "project_creation_restriction") {
    return (
      <Field label={t(name)}>
        {(control) => (
          <select {...control} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)}>
            <option value="everyone">{t("everyone")}</option>
            <option value="adminonly">{t("adminonly")}</option>
          </select>
        )}
      </Field>
    );
  }
  return (
    <Field label={t(name)}>
      {(control) =>
        typeof value === "number" ? (
          <input
            {...control}
            type="number"
            value={String(value)}
            onInput={(e) => onChange(Number(e.currentTarget.value))}
          />
        ) : (
          <input {...control} type="text" value={value} onInput={(e) => onChange(e.currentTarget.value)} />
        )
      }
    </Field>
  );
}

function Allowlist() {
  const t = useT(adminMessages);
  const allowlist = useResource(
    (signal) =>
      get<{ items?: Array<{ cve_id: string }>; expires_at?: number | null }>("/system/CVEAllowlist", {}, signal),
    [],
  );
  const declaration = useDeclaration("cve_allowlist", "system");
  const { guard, dialog } = useDeclaredGuard("cve_allowlist", "system");
  const [ids, setIds] = useState("");
  const [expires, setExpires] = useState("");
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  useEffect(() => {
    if (!allowlist.data) return;
    setIds((allowlist.data.items ?? []).map((item) => item.cve_id).join("\n"));
    const at = allowlist.data.expires_at;
    setExpires(at ? new Date(at * 1000).toISOString().slice(0, 10) : "");
  }, [allowlist.data]);
  if (allowlist.error !== undefined) return <ErrorMessage error={allowlist.error} retry={allowlist.reload} />;
  if (!allowlist.data) return <Loading />;
  const save = () => {
    setFailure(undefined);
    const items = ids
      .split(/\s+/)
      .map((id) => id.trim())
      .filter(Boolean)
      .map((cve_id) => ({ cve_id }));
    const expiresAt = expires ? Math.floor(Date.parse(`${expires}T23:59:59Z`) / 1000) : null;
    put("/system/CVEAllowlist", { items, expires_at: expiresAt }).then(() => {
      setNotice(t("allowlistSaved"));
      allowlist.reload();
    }, setFailure);
  };
  return (
    <section aria-labelledby="allowlist-title">
      <h2 id="allowlist-title">{t("allowlistTitle")}</h2>
      <DeclaredBanner declaration={declaration.data} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          guard(save);
        }}
      >
        <Field label={t("allowlistIds")}>
          {(control) => <textarea {...control} rows={5} value={ids} onInput={(e) => setIds(e.currentTarget.value)} />}
        </Field>
        <Field label={t("allowlistExpires")}>
          {(control) => (
            <input {...control} type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
          )}
        </Field>
        <button type="submit" class="primary">
          {t("saveAllowlist")}
        </button>
      </form>
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
      {dialog}
    </section>
  );
}

export function SettingsPage() {
  const t = useT(adminMessages);
  useTitle(t("settingsTitle"));
  const configurations = useResource((signal) => get<Configurations>("/configurations", {}, signal), []);
  const [values, setValues] = useState<Record<string, Value>>({});
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  useEffect(() => {
    if (configurations.data) {
      setValues(Object.fromEntries(Object.entries(configurations.data).map(([key, entry]) => [key, entry.value])));
    }
  }, [configurations.data]);
  if (configurations.error !== undefined) {
    return (
      <>
        <h1>{t("settingsTitle")}</h1>
        <ErrorMessage error={configurations.error} retry={configurations.reload} />
      </>
    );
  }
  if (!configurations.data) return <Loading />;
  const stored = configurations.data;
  const save = () => {
    const changes = Object.fromEntries(
      Object.entries(values).filter(([key, value]) => stored[key]?.editable && stored[key].value !== value),
    );
    setFailure(undefined);
    if (Object.keys(changes).length === 0) {
      setNotice(t("nothingChanged"));
      return;
    }
    put("/configurations", changes).then(() => {
      setNotice(t("settingsSaved"));
      configurations.reload();
    }, setFailure);
  };
  return (
    <>
      <h1>{t("settingsTitle")}</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          save();
        }}
      >
        {GROUPS.map((group) => (
          <fieldset key={group.label} class="settings-group">
            <legend>{t(group.label)}</legend>
            {group.keys
              .filter((key) => stored[key]?.editable && values[key] !== undefined)
              .map((key) => (
                <SettingControl
                  key={key}
                  name={key}
                  value={values[key] as Value}
                  onChange={(value) => setValues((previous) => ({ ...previous, [key]: value }))}
                />
              ))}
          </fieldset>
        ))}
        <button type="submit" class="primary">
          {t("saveSettings")}
        </button>
      </form>
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
      <Allowlist />
    </>
  );
}
