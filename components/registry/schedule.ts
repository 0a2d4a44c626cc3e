// Harbor's schedules as the registry providers take them (RetentionPolicy, GarbageCollectionSchedule,
// AuditLogPurgeSchedule): one string, either Harbor's word (Hourly, Daily, Weekly, any case), a
// cron descriptor (@daily…) or a six-field cron, seconds first. Each is normalised to the one
// six-field cron the registry then stores and answers, so that `pulumi refresh` compares like
// with like and no perpetual diff appears: "weekly", "Weekly", "@weekly" and "0 0 0 * * 0" are
// the same schedule and the same input. Whitespace is collapsed and month and weekday names
// upper-cased (`mon` → `MON`); a five-field cron (the seeds' most common mistake) is refused with
// the six-field one it probably meant. The API's `type` is derived from the cron (Weekly for
// Harbor's weekly cron, Custom otherwise), never kept as a second input.
//
// No imports: the dynamic providers are serialised into the stack state with this module
// (components/README.md, "Rules for the dynamic providers").

/** Harbor's schedule types and the six-field cron each stands for (registry-server/src/jobs/cron.ts). */
export const SCHEDULE_TYPE_CRON: Readonly<Record<"Hourly" | "Daily" | "Weekly", string>> = {
  Hourly: "0 0 * * * *",
  Daily: "0 0 0 * * *",
  Weekly: "0 0 0 * * 0",
};

/** robfig/cron's descriptors, which Harbor's scheduler accepts, as six-field crons. */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": SCHEDULE_TYPE_CRON.Weekly,
  "@daily": SCHEDULE_TYPE_CRON.Daily,
  "@midnight": SCHEDULE_TYPE_CRON.Daily,
  "@hourly": SCHEDULE_TYPE_CRON.Hourly,
};

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** Each field's bounds, in order: second, minute, hour, day of month, month, day of week (7 is Sunday too). */
const FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names?: readonly string[] }> = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS },
];

export type NormalisedSchedule = { cron: string; problem?: undefined } | { cron?: undefined; problem: string };

/** The value of one field's item (a number or a name), or undefined when out of bounds. */
function fieldValue(text: string, field: (typeof FIELDS)[number]): number | undefined {
  const named = field.names?.indexOf(text) ?? -1;
  if (named >= 0) return named + field.min;
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= field.min && value <= field.max ? value : undefined;
}

/** Why one field of a six-field cron is malformed, or undefined. */
function fieldProblem(text: string, field: (typeof FIELDS)[number]): string | undefined {
  for (const part of text.split(",")) {
    const match = /^(\*|\?|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    const bad = `invalid ${field.name} ${JSON.stringify(part)}`;
    if (!match) return bad;
    const [, range = "", step] = match;
    if (step !== undefined && Number(step) < 1) return bad;
    if (range === "*" || range === "?") continue;
    const [from = "", to] = range.split("-");
    const low = fieldValue(from, field);
    const high = to === undefined ? low : fieldValue(to, field);
    if (low === undefined || high === undefined)
      return `${field.name} out of range ${field.min}-${field.max} in ${JSON.stringify(part)}`;
    if (high < low) return `${field.name} range ${JSON.stringify(range)} runs backwards`;
  }
  return undefined;
}

/**
 * The six-field cron a schedule stands for, or why it is refused. `allowNone` lets "" and "None"
 * (any case) stand for no schedule, normalised to "" (a retention policy without a schedule).
 */
export function normaliseSchedule(value: unknown, allowNone: boolean): NormalisedSchedule {
  const expected = `expected Hourly, Daily, Weekly or a six-field cron (seconds first)${allowNone ? ', or "None"' : ""}`;
  if (typeof value !== "string") return { problem: `${expected}, got ${JSON.stringify(value)}` };
  const text = value.trim().replace(/\s+/g, " ");
  if (text === "" || text.toLowerCase() === "none") {
    return allowNone ? { cron: "" } : { problem: `${expected}, got ${JSON.stringify(value)}` };
  }
  const word = Object.entries(SCHEDULE_TYPE_CRON).find(([type]) => type.toLowerCase() === text.toLowerCase());
  if (word) return { cron: word[1] };
  const descriptor = DESCRIPTORS[text.toLowerCase()];
  if (descriptor !== undefined) return { cron: descriptor };
  const fields = text.toUpperCase().split(" ");
  if (fields.length === 5) {
    return {
      problem: `${JSON.stringify(value)} has five fields: Harbor's cron has six, seconds first (e.g. "0 ${fields.join(" ")}")`,
    };
  }
  if (fields.length !== 6) return { problem: `${expected}, got ${JSON.stringify(value)}` };
  for (const [index, field] of FIELDS.entries()) {
    const problem = fieldProblem(fields[index] ?? "", field);
    if (problem) return { problem: `${JSON.stringify(value)}: ${problem}` };
  }
  return { cron: fields.join(" ") };
}

/**
 * A cron the registry answered, as the inputs hold it: normalised when it is one the inputs
 * accept, as it came otherwise (so that it shows as drift rather than being hidden).
 */
export function liveSchedule(cron: unknown, allowNone: boolean): string {
  const normalised = normaliseSchedule(cron ?? "", allowNone);
  return normalised.cron ?? String(cron);
}

/** Harbor's schedule type for a normalised cron: the word when it is one's cron, Custom otherwise. */
export function scheduleType(cron: string): "Hourly" | "Daily" | "Weekly" | "Custom" {
  const word = (Object.keys(SCHEDULE_TYPE_CRON) as Array<keyof typeof SCHEDULE_TYPE_CRON>).find(
    (type) => SCHEDULE_TYPE_CRON[type] === cron,
  );
  return word ?? "Custom";
}
