// A project's security settings (Harbor's project metadata and CVE allowlist, saved with one PUT
// /projects/{id} as Harbor's portal does): refusing vulnerable images from a severity up, scanning
// and SBOMs on push, cosign signatures, and which CVE allowlist applies with its expiry. Project
// administrators change them (guarded when a stack declared the project); others read them.

import { useEffect, useState } from "preact/hooks";
import { put } from "../../api.ts";
import { useDeclaredGuard } from "../../components/declared-by.tsx";
import { Field } from "../../components/field.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import type { Project } from "../projects/project-types.ts";
import { policiesMessages, type PoliciesMessage } from "./policies-messages.ts";

const SEVERITIES = ["low", "medium", "high", "critical"] as const;
const CVE_SEPARATORS = /[\s,;]+/;

/** A project as GET /projects/{id} returns it, with its own CVE allowlist. */
export interface ProjectWithAllowlist extends Project {
  readonly cve_allowlist?: {
    readonly items?: ReadonlyArray<{ readonly cve_id: string }>;
    readonly expires_at?: number;
  };
}

interface Settings {
  preventVul: boolean;
  severity: string;
  autoScan: boolean;
  autoSbom: boolean;
  cosign: boolean;
  reuseSystem: boolean;
  items: string[];
  /** yyyy-mm-dd, "" for never. */
  expires: string;
}

function settingsOf(project: ProjectWithAllowlist): Settings {
  const meta = project.metadata ?? {};
  const expiresAt = project.cve_allowlist?.expires_at;
  return {
    preventVul: meta["prevent_vul"] === "true",
    severity: meta["severity"] && meta["severity"] !== "none" ? meta["severity"] : "low",
    autoScan: meta["auto_scan"] === "true",
    autoSbom: meta["auto_sbom_generation"] === "true",
    cosign: meta["enable_content_trust_cosign"] === "true",
    reuseSystem: meta["reuse_sys_cve_allowlist"] === "true",
    items: (project.cve_allowlist?.items ?? []).map((item) => item.cve_id),
    expires: expiresAt ? new Date(expiresAt * 1000).toISOString().slice(0, 10) : "",
  };
}

export function SecuritySettings({
  project,
  editable,
  onSaved,
}: {
  project: ProjectWithAllowlist;
  editable: boolean;
  onSaved: () => void;
}) {
  const t = useT(policiesMessages);
  const tc = useT(common);
  const { guard, dialog } = useDeclaredGuard("project", project.name);
  const [settings, setSettings] = useState(() => settingsOf(project));
  const [adding, setAdding] = useState("");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => setSettings(settingsOf(project)), [project]);

  const change = (next: Partial<Settings>) => {
    setSaved(false);
    setSettings({ ...settings, ...next });
  };
  const addCves = () => {
    const fresh = adding
      .split(CVE_SEPARATORS)
      .map((id) => id.trim())
      .filter((id) => id && !settings.items.includes(id));
    change({ items: [...settings.items, ...new Set(fresh)] });
    setAdding("");
  };

  const save = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await put(`/projects/${project.project_id}`, {
        metadata: {
          prevent_vul: String(settings.preventVul),
          severity: settings.severity,
          auto_scan: String(settings.autoScan),
          auto_sbom_generation: String(settings.autoSbom),
          enable_content_trust_cosign: String(settings.cosign),
          reuse_sys_cve_allowlist: String(settings.reuseSystem),
        },
        cve_allowlist: {
          items: settings.items.map((cve_id) => ({ cve_id })),
          ...(settings.expires && { expires_at: Math.floor(Date.parse(`${settings.expires}T00:00:00Z`) / 1000) }),
        },
      });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const checkbox = (key: keyof Settings, label: PoliciesMessage, id: string) => (
    <div class="policy-check">
      <input
        id={id}
        type="checkbox"
        checked={settings[key] as boolean}
        onChange={(event) => change({ [key]: event.currentTarget.checked })}
      />
      <label for={id}>{t(label)}</label>
    </div>
  );

  return (
    <section aria-labelledby="security-heading">
      <h2 id="security-heading">{t("securityHeading")}</h2>
      {!editable && <p class="notice">{t("securityReadOnly")}</p>}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          guard(() => void save());
        }}
      >
        <fieldset class="policy-fieldset" disabled={!editable}>
          {checkbox("preventVul", "preventVul", "policy-prevent-vul")}
          {settings.preventVul && (
            <Field label={t("severity")}>
              {(control) => (
                <select
                  {...control}
                  value={settings.severity}
                  onChange={(event) => change({ severity: event.currentTarget.value })}
                >
                  {SEVERITIES.map((severity) => (
                    <option key={severity} value={severity}>
                      {t(`severity_${severity}`)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          {checkbox("autoScan", "autoScan", "policy-auto-scan")}
          {checkbox("autoSbom", "autoSbom", "policy-auto-sbom")}
          {checkbox("cosign", "cosign", "policy-cosign")}
          <fieldset class="policy-fieldset">
            <legend>{t("allowlistLegend")}</legend>
            <div class="policy-check">
              <input
                id="policy-allowlist-system"
                type="radio"
                name="policy-allowlist"
                checked={settings.reuseSystem}
                onChange={() => change({ reuseSystem: true })}
              />
              <label for="policy-allowlist-system">{t("allowlistSystem")}</label>
            </div>
            <div class="policy-check">
              <input
                id="policy-allowlist-project"
                type="radio"
                name="policy-allowlist"
                checked={!settings.reuseSystem}
                onChange={() => change({ reuseSystem: false })}
              />
              <label for="policy-allowlist-project">{t("allowlistProject")}</label>
            </div>
            <h3 class="policy-subheading">{t("allowlistItems")}</h3>
            {settings.items.length === 0 ? (
              <p class="empty">{t("allowlistEmpty")}</p>
            ) : (
              <ul class="policy-cves">
                {settings.items.map((cve) => (
                  <li key={cve}>
                    <code>{cve}</code>{" "}
                    {editable && (
                      <button
                        type="button"
                        onClick={() => change({ items: settings.items.filter((item) => item !== cve) })}
                      >
                        {t("remove", { cve })}
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {editable && (
              <div class="policy-inline">
                <Field label={t("allowlistAdd")} hint={t("allowlistAddHint")}>
                  {(control) => (
                    <input
                      {...control}
                      value={adding}
                      onInput={(event) => setAdding(event.currentTarget.value)}
                      onKeyDown={(event) => {
                        if (event.key === "Enter") {
                          event.preventDefault();
                          addCves();
                        }
                      }}
                    />
                  )}
                </Field>
                <button type="button" onClick={addCves} disabled={adding.trim() === ""}>
                  {t("add")}
                </button>
              </div>
            )}
            <Field label={t("allowlistExpires")} hint={t("allowlistExpiresHint")}>
              {(control) => (
                <input
                  {...control}
                  type="date"
                  value={settings.expires}
                  onInput={(event) => change({ expires: event.currentTarget.value })}
                />
              )}
            </Field>
          </fieldset>
          {editable && (
            <div class="actions policy-save">
              {saved && (
                <span role="status" class="copy-result">
                  {t("saved")}
                </span>
              )}
              <button type="submit" class="primary" disabled={busy}>
                {busy ? t("saving") : tc("save")}
              </button>
            </div>
          )}
        </fieldset>
      </form>
      {error !== undefined && <ErrorMessage error={error} />}
      {dialog}
    </section>
  );
}
