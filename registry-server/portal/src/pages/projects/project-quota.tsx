// A project's storage quota: used against its limit as a meter with the same figures in words
// (a meter alone says nothing to a screen reader that skips it), and the limit's field as Harbor
// asks for it: a number and a unit, -1 for no limit.

import { useId } from "preact/hooks";
import { Field } from "../../components/field.tsx";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { projectsMessages } from "./projects-messages.ts";

export function QuotaText({ used, limit }: { used: number; limit: number }) {
  const t = useT(projectsMessages);
  const format = useFormat();
  return (
    <>
      {limit < 0
        ? t("quotaUnlimited", { used: format.bytes(used) })
        : t("quotaOf", { used: format.bytes(used), limit: format.bytes(limit) })}
    </>
  );
}

/** The meter (only where there is a limit) and the figures beside it. */
export function QuotaMeter({ used, limit }: { used: number; limit: number }) {
  const t = useT(projectsMessages);
  const textId = useId();
  return (
    <span class="quota">
      {limit > 0 && (
        <meter
          min={0}
          max={limit}
          low={limit * 0.8}
          high={limit * 0.95}
          optimum={0}
          value={Math.min(used, limit)}
          aria-label={t("quotaMeterLabel")}
          aria-describedby={textId}
        />
      )}
      <span id={textId}>
        <QuotaText used={used} limit={limit} />
      </span>
    </span>
  );
}

export const UNITS = [
  { label: "MiB", bytes: 1024 ** 2 },
  { label: "GiB", bytes: 1024 ** 3 },
  { label: "TiB", bytes: 1024 ** 4 },
] as const;

export interface StorageLimit {
  /** As typed: "-1" for no limit. */
  readonly amount: string;
  readonly unit: (typeof UNITS)[number]["label"];
}

/** The limit in bytes (-1 for none), or undefined when the amount is not a number Harbor takes. */
export function limitBytes(limit: StorageLimit): number | undefined {
  const amount = Number(limit.amount.trim());
  if (limit.amount.trim() === "" || !Number.isFinite(amount)) return undefined;
  if (amount === -1) return -1;
  if (amount <= 0) return undefined;
  const unit = UNITS.find((candidate) => candidate.label === limit.unit) ?? UNITS[1];
  return Math.round(amount * unit.bytes);
}

/** A limit in bytes as the field shows it: the largest unit that keeps the number whole-ish. */
export function storageLimitOf(bytes: number): StorageLimit {
  if (bytes < 0) return { amount: "-1", unit: "GiB" };
  const unit = [...UNITS].reverse().find((candidate) => bytes >= candidate.bytes && bytes % candidate.bytes === 0);
  const chosen = unit ?? UNITS[0];
  return { amount: String(Math.round((bytes / chosen.bytes) * 100) / 100), unit: chosen.label };
}

export function StorageLimitField({
  value,
  onChange,
  error,
  label,
}: {
  value: StorageLimit;
  onChange: (value: StorageLimit) => void;
  error?: string | undefined;
  label?: string;
}) {
  const t = useT(projectsMessages);
  return (
    <Field label={label ?? t("storageLimit")} hint={t("storageLimitHint")} {...(error && { error })}>
      {(control) => (
        <span class="storage-limit">
          <input
            {...control}
            type="number"
            min={-1}
            step="any"
            inputMode="decimal"
            value={value.amount}
            onInput={(event) => onChange({ ...value, amount: event.currentTarget.value })}
          />
          <select
            aria-label={t("storageUnit")}
            value={value.unit}
            disabled={value.amount.trim() === "-1"}
            onChange={(event) => onChange({ ...value, unit: event.currentTarget.value as StorageLimit["unit"] })}
          >
            {UNITS.map((unit) => (
              <option key={unit.label} value={unit.label}>
                {unit.label}
              </option>
            ))}
          </select>
        </span>
      )}
    </Field>
  );
}
