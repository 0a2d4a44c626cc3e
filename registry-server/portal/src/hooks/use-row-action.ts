// A change made from a row of a table (enable, disable, delete…): its buttons are disabled while
// it runs, then the list reloads on success or the page shows the API's refusal.

import { useState } from "preact/hooks";

export interface RowAction {
  /** True while a change runs: the row's buttons wait. */
  readonly busy: boolean;
  readonly run: (change: () => Promise<unknown>) => Promise<void>;
}

export function useRowAction(onChanged: () => void, onError: (error: unknown) => void): RowAction {
  const [busy, setBusy] = useState(false);
  const run = async (change: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await change();
      onChanged();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}
