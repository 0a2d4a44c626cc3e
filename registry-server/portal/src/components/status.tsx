// The states between a request and its page: loading, failed (with Harbor's message and a way to
// try again), forbidden. Announced to screen readers as they appear.

import { ApiError } from "../api.ts";
import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";

export function Loading() {
  const t = useT(common);
  return (
    <p class="status" role="status">
      {t("loading")}
    </p>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  const t = useT(common);
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <div class="notice notice-error" role="alert">
      <p>
        <strong>{forbidden ? t("forbidden") : t("errorTitle")}</strong>
      </p>
      <p>{errorText(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          {t("retry")}
        </button>
      )}
    </div>
  );
}
