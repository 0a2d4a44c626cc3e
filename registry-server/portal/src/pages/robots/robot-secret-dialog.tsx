// A robot's secret, shown once (after creation and after a refresh): the name and secret to copy,
// a warning that it will not be shown again, and a JSON file to keep it in (a blob: URL, which the
// portal's CSP allows as a download). Closing forgets the secret: nothing of it stays in the page.

import { useEffect, useMemo } from "preact/hooks";
import { CopyField } from "../../components/copy-button.tsx";
import { Dialog } from "../../components/dialog.tsx";
import { useT } from "../../i18n/i18n.tsx";
import type { RobotSecret } from "./robot-types.ts";
import { robotsMessages } from "./robots-messages.ts";

export function RobotSecretDialog({ secret, onClose }: { secret: RobotSecret | undefined; onClose: () => void }) {
  const t = useT(robotsMessages);
  const download = useMemo(
    () =>
      secret &&
      URL.createObjectURL(
        new Blob([JSON.stringify({ name: secret.name, secret: secret.secret }, null, 2)], {
          type: "application/json",
        }),
      ),
    [secret],
  );
  useEffect(() => () => download && URL.revokeObjectURL(download), [download]);
  return (
    <Dialog open={secret !== undefined} title={t("secretTitle", { name: secret?.name ?? "" })} onClose={onClose}>
      {secret && (
        <>
          <p class="notice notice-declared" role="alert">
            <strong>{t("secretWarning")}</strong>
          </p>
          <div class="field">
            <span class="robot-secret-label">{t("secretName")}</span>
            <CopyField value={secret.name} label={t("secretName")} />
          </div>
          <div class="field">
            <span class="robot-secret-label">{t("secretValue")}</span>
            <CopyField value={secret.secret} label={t("secretValue")} />
          </div>
          <div class="actions">
            {download && (
              <a class="button-link" href={download} download={`${secret.name}.json`}>
                {t("download")}
              </a>
            )}
            <button type="button" class="primary" onClick={onClose}>
              {t("done")}
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
