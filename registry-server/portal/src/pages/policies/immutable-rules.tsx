// A project's tag immutability rules (Harbor's /projects/{p}/immutabletagrules): the rules a page
// at a time, in words; adding one from a repository and a tag pattern (matching or excluding);
// enabling, disabling and deleting one, each guarded when a stack declared the rule (key
// `<project>/<rule id>`). Project administrators and maintainers keep them; others get the API's
// refusal.

import { useState } from "preact/hooks";
import { del, post, put } from "../../api.ts";
import { DeclaredMark, useDeclaredGuard, useDeclarations } from "../../components/declared-by.tsx";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { useRowAction } from "../../hooks/use-row-action.ts";
import { common } from "../../i18n/common.ts";
import { useT, type Translate } from "../../i18n/i18n.tsx";
import type { Project } from "../projects/project-types.ts";
import { useLocalPagedList } from "./local-paged-list.ts";
import { policiesMessages, type PoliciesMessage } from "./policies-messages.ts";
import type { ImmutableRule, Selector } from "./policy-types.ts";

/** Selectors in words: "matching ** and excluding tmp/**". */
export function selectorWords(t: Translate<PoliciesMessage>, selectors: readonly Selector[] | undefined): string {
  return (selectors ?? [])
    .map((selector) => {
      const words = ["repoMatches", "repoExcludes", "matches", "excludes"].includes(selector.decoration)
        ? t(selector.decoration as PoliciesMessage, { pattern: selector.pattern })
        : `${selector.decoration} ${selector.pattern}`;
      return selector.extras?.includes('"untagged":true') ? `${words} (${t("untagged")})` : words;
    })
    .join(", ");
}

export function ImmutableRules({ project, editable }: { project: Project; editable: boolean }) {
  const t = useT(policiesMessages);
  const path = `/projects/${project.project_id}/immutabletagrules`;
  const rules = useLocalPagedList<ImmutableRule>(path);
  const declarations = useDeclarations("immutable_rule", [rules.data]);
  const [error, setError] = useState<unknown>();

  return (
    <section aria-labelledby="immutable-heading">
      <h2 id="immutable-heading">{t("immutableHeading")}</h2>
      <p>{t("immutableIntro")}</p>
      {error !== undefined && <ErrorMessage error={error} />}
      <PagedTable
        list={rules}
        caption={t("immutableList")}
        rowKey={(rule) => rule.id}
        empty={t("immutableNone")}
        columns={[
          {
            header: t("repositories"),
            cell: (rule) => (
              <>
                {selectorWords(t, rule.scope_selectors["repository"])}{" "}
                <DeclaredMark declaration={declarations.data?.get(`${project.name}/${rule.id}`)} />
              </>
            ),
          },
          { header: t("tags"), cell: (rule) => selectorWords(t, rule.tag_selectors) },
          {
            header: t("status"),
            cell: (rule) =>
              rule.disabled ? (
                <span class="badge">{t("disabled")}</span>
              ) : (
                <span class="badge badge-ok">{t("enabled")}</span>
              ),
          },
          ...(editable
            ? [
                {
                  header: t("actions"),
                  cell: (rule: ImmutableRule) => (
                    <RuleActions
                      path={`${path}/${rule.id}`}
                      rule={rule}
                      declaredKey={`${project.name}/${rule.id}`}
                      onChanged={() => {
                        setError(undefined);
                        rules.reload();
                      }}
                      onError={setError}
                    />
                  ),
                },
              ]
            : []),
        ]}
      />
      {editable && (
        <AddRuleForm
          path={path}
          onAdded={() => {
            setError(undefined);
            rules.reload();
          }}
        />
      )}
    </section>
  );
}

function RuleActions({
  path,
  rule,
  declaredKey,
  onChanged,
  onError,
}: {
  path: string;
  rule: ImmutableRule;
  /** The rule's key among declarations: `<project>/<rule id>`. */
  declaredKey: string;
  onChanged: () => void;
  onError: (error: unknown) => void;
}) {
  const t = useT(policiesMessages);
  const tc = useT(common);
  const { guard, dialog } = useDeclaredGuard("immutable_rule", declaredKey);
  const [confirming, setConfirming] = useState(false);
  const { busy, run } = useRowAction(onChanged, onError);
  const forRule = <span class="visually-hidden"> {t("forRule", { id: rule.id })}</span>;
  return (
    <div class="robot-actions">
      <button
        type="button"
        disabled={busy}
        onClick={() => guard(() => void run(() => put(path, { ...rule, disabled: !rule.disabled })))}
      >
        {rule.disabled ? t("enable") : t("disable")}
        {forRule}
      </button>
      <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
        {tc("delete")}
        {forRule}
      </button>
      <ConfirmDialog
        open={confirming}
        title={t("deleteRuleTitle", { id: rule.id })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          guard(() => void run(() => del(path)));
        }}
      >
        <p>{t("deleteRuleText")}</p>
      </ConfirmDialog>
      {dialog}
    </div>
  );
}

function AddRuleForm({ path, onAdded }: { path: string; onAdded: () => void }) {
  const t = useT(policiesMessages);
  const [repoDecoration, setRepoDecoration] = useState("repoMatches");
  const [repoPattern, setRepoPattern] = useState("**");
  const [tagDecoration, setTagDecoration] = useState("matches");
  const [tagPattern, setTagPattern] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const repoError = submitted && repoPattern.trim() === "" ? t("patternEmpty") : undefined;
  const tagError = submitted && tagPattern.trim() === "" ? t("patternEmpty") : undefined;

  const submit = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    if (repoPattern.trim() === "" || tagPattern.trim() === "") return;
    setBusy(true);
    setError(undefined);
    try {
      await post(path, {
        disabled: false,
        action: "immutable",
        template: "immutable_template",
        tag_selectors: [{ kind: "doublestar", decoration: tagDecoration, pattern: tagPattern.trim() }],
        scope_selectors: {
          repository: [{ kind: "doublestar", decoration: repoDecoration, pattern: repoPattern.trim() }],
        },
      });
      setTagPattern("");
      setSubmitted(false);
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="policy-form" onSubmit={(event) => void submit(event)} noValidate>
      <h3 class="policy-subheading">{t("addRule")}</h3>
      {error !== undefined && <ErrorMessage error={error} />}
      <div class="policy-inline">
        <Field label={t("repositoryDecoration")}>
          {(control) => (
            <select {...control} value={repoDecoration} onChange={(e) => setRepoDecoration(e.currentTarget.value)}>
              <option value="repoMatches">{t("matching")}</option>
              <option value="repoExcludes">{t("excluding")}</option>
            </select>
          )}
        </Field>
        <Field label={t("repositoryPattern")} hint={t("patternHint")} {...(repoError && { error: repoError })}>
          {(control) => (
            <input {...control} value={repoPattern} onInput={(e) => setRepoPattern(e.currentTarget.value)} />
          )}
        </Field>
      </div>
      <div class="policy-inline">
        <Field label={t("tagDecoration")}>
          {(control) => (
            <select {...control} value={tagDecoration} onChange={(e) => setTagDecoration(e.currentTarget.value)}>
              <option value="matches">{t("matching")}</option>
              <option value="excludes">{t("excluding")}</option>
            </select>
          )}
        </Field>
        <Field label={t("tagPattern")} hint={t("patternHint")} {...(tagError && { error: tagError })}>
          {(control) => <input {...control} value={tagPattern} onInput={(e) => setTagPattern(e.currentTarget.value)} />}
        </Field>
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {t("addRule")}
      </button>
    </form>
  );
}
