// The scan jobs' defaults, shared by the configuration (config.ts) and the composition root.

/** A scan of one manifest is given up after this long: time for a large image's layers. */
export const DEFAULT_SCAN_TIMEOUT_SECONDS = 1_800;

/** A vulnerability database older than this is out of date (Aqua rebuilds Trivy's every 6 hours). */
export const DEFAULT_MAX_DATABASE_AGE_DAYS = 7;
