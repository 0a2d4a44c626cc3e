// Harbor's immutable tag rules and retention policies and runs, as the API carries them (the
// fields the policies page reads).

export interface Selector {
  readonly kind: string;
  readonly decoration: string;
  readonly pattern: string;
  readonly extras?: string;
}

export interface ImmutableRule {
  readonly id: number;
  readonly disabled: boolean;
  readonly priority?: number;
  readonly action: string;
  readonly template: string;
  readonly tag_selectors: readonly Selector[];
  readonly scope_selectors: Readonly<Record<string, readonly Selector[]>>;
}

export interface RetentionRule {
  readonly id: number;
  readonly disabled: boolean;
  readonly template: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tag_selectors: readonly Selector[];
  readonly scope_selectors: Readonly<Record<string, readonly Selector[]>>;
}

export interface RetentionPolicy {
  readonly id: number;
  readonly rules: readonly RetentionRule[];
  readonly trigger: { readonly kind: string; readonly settings: Readonly<Record<string, unknown>> };
}

export interface RetentionExecution {
  readonly id: number;
  readonly status: string;
  readonly trigger: string;
  readonly dry_run: boolean;
  readonly start_time: string;
  readonly end_time: string;
}

export interface RetentionTask {
  readonly id: number;
  readonly repository: string;
  readonly status: string;
  readonly total: number;
  readonly retained: number;
  readonly start_time: string;
  readonly end_time: string;
}

/** Statuses after which an execution changes no more. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["Success", "Error", "Stopped", "Failed"]);
