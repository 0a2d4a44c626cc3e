// Copies a value (a pull command, a robot's secret) to the clipboard and says so to screen
// readers; where the clipboard is refused, it says to copy by hand from the field shown beside it.

import { useState } from "preact/hooks";
import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";

export function CopyButton({ value, label }: { value: string; label: string }) {
  const t = useT(common);
  const [result, setResult] = useState<"copied" | "failed" | undefined>();
  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => setResult("copied"),
      () => setResult("failed"),
    );
  };
  return (
    <span class="copy">
      {/* The visible word first in the name (WCAG 2.5.3, label in name): "Copy Secret". */}
      <button type="button" onClick={copy}>
        {t("copy")}
        <span class="visually-hidden"> {label}</span>
      </button>
      <span role="status" class="copy-result">
        {result === "copied" ? t("copied") : result === "failed" ? t("copyFailed") : ""}
      </span>
    </span>
  );
}

/** A value shown read-only with its copy button (select-all on focus for copying by hand). */
export function CopyField({ value, label }: { value: string; label: string }) {
  return (
    <span class="copy-field">
      <input type="text" readOnly value={value} aria-label={label} onFocus={(event) => event.currentTarget.select()} />
      <CopyButton value={value} label={label} />
    </span>
  );
}
