// The settings area of the metadata store: the system settings an administrator changes at run
// time (Harbor's /api/v2.0/configurations), kept in the database so that every replica reads the
// same values. The store holds JSON values by key and knows nothing of their meaning: the
// settings module (settings/system-settings.ts) owns the keys, their types and their defaults.
// The contract suite in test/contracts/settings-store-contract.ts pins these semantics down.

export interface SettingsMetadata {
  /** Every stored setting by key; a key never set is absent. */
  all(): Promise<Record<string, unknown>>;
  /** Stores these keys' values (JSON values; other keys keep theirs), all or none. */
  put(values: Readonly<Record<string, unknown>>, at: Date): Promise<void>;
}
