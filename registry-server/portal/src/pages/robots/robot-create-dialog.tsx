// The form of a new project robot: its short name (the server makes it robot$<project>+name),
// description, lifetime in days or never, and its permissions as checkboxes grouped by resource.
// On success the parent shows the secret, once.

import { useState } from "preact/hooks";
import { post } from "../../api.ts";
import { Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { common } from "../../i18n/common.ts";
import { useT } from "../../i18n/i18n.tsx";
import { projectPermissions, ROBOT_RESOURCES, type Grant, type RobotSecret } from "./robot-types.ts";
import { robotsMessages, type RobotsMessage } from "./robots-messages.ts";

const ROBOT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DEFAULT_GRANTS: readonly Grant[] = ["repository:pull"];

export function RobotCreateDialog({
  open,
  project,
  onClose,
  onCreated,
}: {
  open: boolean;
  project: string;
  onClose: () => void;
  onCreated: (secret: RobotSecret) => void;
}) {
  const t = useT(robotsMessages);
  const tc = useT(common);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [never, setNever] = useState(true);
  const [days, setDays] = useState("30");
  const [grants, setGrants] = useState<ReadonlySet<Grant>>(new Set(DEFAULT_GRANTS));
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const nameError = submitted && !ROBOT_NAME.test(name) ? t("nameInvalid") : undefined;
  const daysNumber = Number(days);
  const daysError =
    submitted && !never && !(Number.isInteger(daysNumber) && daysNumber >= 1) ? t("daysInvalid") : undefined;
  const grantsError = submitted && grants.size === 0 ? t("permissionsNone") : undefined;

  const reset = () => {
    setName("");
    setDescription("");
    setNever(true);
    setDays("30");
    setGrants(new Set(DEFAULT_GRANTS));
    setSubmitted(false);
    setError(undefined);
  };
  const close = () => {
    reset();
    onClose();
  };
  const toggle = (grant: Grant, on: boolean) => {
    const next = new Set(grants);
    if (on) next.add(grant);
    else next.delete(grant);
    setGrants(next);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    if (!ROBOT_NAME.test(name) || grants.size === 0 || (!never && !(Number.isInteger(daysNumber) && daysNumber >= 1)))
      return;
    setBusy(true);
    setError(undefined);
    try {
      const reply = await post<RobotSecret>("/robots", {
        name,
        description,
        level: "project",
        duration: never ? -1 : daysNumber,
        disable: false,
        permissions: projectPermissions(project, grants),
      });
      reset();
      onCreated({ name: reply.data.name, secret: reply.data.secret });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} title={t("createTitle")} onClose={close}>
      <form onSubmit={(event) => void submit(event)} noValidate>
        {error !== undefined && <ErrorMessage error={error} />}
        <Field label={t("name")} hint={t("nameHint", { project })} {...(nameError && { error: nameError })}>
          {(control) => (
            <input
              {...control}
              required
              autocomplete="off"
              value={name}
              onInput={(event) => setName(event.currentTarget.value.trim())}
            />
          )}
        </Field>
        <Field label={t("descriptionLabel")}>
          {(control) => (
            <input {...control} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
          )}
        </Field>
        <fieldset class="robot-fieldset">
          <legend>{t("expiration")}</legend>
          <label class="robot-choice">
            <input type="radio" name="robot-expiration" checked={never} onChange={() => setNever(true)} />{" "}
            {t("expirationNever")}
          </label>
          <label class="robot-choice">
            <input type="radio" name="robot-expiration" checked={!never} onChange={() => setNever(false)} />{" "}
            {t("expirationDays")}
          </label>
          {!never && (
            <Field label={t("days")} {...(daysError && { error: daysError })}>
              {(control) => (
                <input
                  {...control}
                  type="number"
                  min={1}
                  step={1}
                  inputMode="numeric"
                  value={days}
                  onInput={(event) => setDays(event.currentTarget.value)}
                />
              )}
            </Field>
          )}
        </fieldset>
        <fieldset class="robot-fieldset" {...(grantsError && { "aria-describedby": "robot-grants-error" })}>
          <legend>{t("permissionsLegend")}</legend>
          {grantsError && (
            <p id="robot-grants-error" class="field-error">
              {grantsError}
            </p>
          )}
          <div class="robot-grants">
            {ROBOT_RESOURCES.map(({ resource, actions }) => (
              <fieldset key={resource} class="robot-resource">
                <legend>{t(`resource_${resource}` as RobotsMessage)}</legend>
                {actions.map((action) => {
                  const grant: Grant = `${resource}:${action}`;
                  return (
                    <label key={action} class="robot-choice">
                      <input
                        type="checkbox"
                        checked={grants.has(grant)}
                        onChange={(event) => toggle(grant, event.currentTarget.checked)}
                      />{" "}
                      <span class="visually-hidden">
                        {t("grantPrefix", { resource: t(`resource_${resource}` as RobotsMessage) })}
                      </span>
                      {t(`action_${action}` as RobotsMessage)}
                    </label>
                  );
                })}
              </fieldset>
            ))}
          </div>
        </fieldset>
        <div class="actions">
          <button type="button" onClick={close}>
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
