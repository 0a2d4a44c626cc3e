// Inputs that are not known yet. During a preview, every output of a resource still to be created
// (or updated) is unknown, and the engine hands it to a dynamic provider's `check` and `diff` as
// a sentinel string, at any depth (a whole value, a list item, an object field). `check`
// validates what is known, skips what is not, and hands unknowns back as they came, never
// turned into a known value: the engine reads the sentinel in its answer as unknown again.
// `create`, `read`, `update` and `delete` only ever see known values.
//
// The dynamic providers import these functions, so they are serialised into the state with them
// (see README.md): this module must stay pure and import nothing, the Pulumi SDK above all.

/** @pulumi/pulumi's `runtime.unknownValue`; a unit test checks that the two agree. */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The value the engine sends for an unknown input. */
export const UNKNOWN: string = UNKNOWN_SENTINEL;

/** Whether the engine sent this value as unknown. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN_SENTINEL;
}

/** Whether the value is unknown or holds an unknown anywhere inside it. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN_SENTINEL) return true;
  if (Array.isArray(value)) return value.some((item) => containsUnknown(item));
  if (value !== null && typeof value === "object") return Object.values(value).some((item) => containsUnknown(item));
  return false;
}

/**
 * `normalise(value)` for a known value; an unknown one is handed back as it is. The result is
 * typed as the known value's type: only `check` and `diff` see unknowns.
 */
export function keepUnknown<T>(value: unknown, normalise: (value: unknown) => T): T {
  return value === UNKNOWN_SENTINEL ? (value as T) : normalise(value);
}
