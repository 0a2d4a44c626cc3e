// Zod types that decode a JSON body the way Go's encoding/json decodes it into Harbor's structs
// (policy.Metadata, rule.Metadata, immutable model.Metadata), so that what Harbor accepts is
// accepted here: a field that is absent or null takes Go's zero value ("", 0, false, empty), and
// keys the struct does not declare are dropped (zod objects strip unknown keys). Types are not
// coerced, as Go does not coerce them: "10" is not an int and 1.5 is not one either.
//
// One leniency of Go is not reproduced: its case-insensitive field names ("Algorithm" would fill
// `algorithm`). Harbor's own clients send the exact names.

import { z } from "zod";

export function goString() {
  return z
    .string()
    .nullish()
    .transform((value) => value ?? "");
}

export function goInt() {
  return z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? 0);
}

export function goBool() {
  return z
    .boolean()
    .nullish()
    .transform((value) => value ?? false);
}

export function goSlice<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((value): Array<z.output<T>> => value ?? []);
}

/** A map[string]T: an absent or null map decodes as an empty one. */
export function goMap<T extends z.ZodType>(value: T) {
  return z
    .record(z.string(), value)
    .nullish()
    .transform((map): Record<string, z.output<T>> => map ?? {});
}

/** A pointer to a struct Harbor requires: absent or null is its "Can not be empty". */
export function goRequiredStruct<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape, {
    error: (issue) => (issue.input === undefined || issue.input === null ? "Can not be empty" : undefined),
  });
}
