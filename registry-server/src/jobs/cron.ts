// Harbor's cron expressions: six fields, seconds first (`0 0 * * * *` is every hour), as the Go
// library Harbor uses parses them: `*` and `?`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` and
// `a/n`, lists `a,b`, month and weekday names (JAN, MON), weekday 7 for Sunday, and the
// descriptors @yearly, @monthly, @weekly, @daily, @midnight and @hourly, and `@every <duration>`
// (Go's durations: `90s`, `10m`, `1h30m`), which fires that long after the time it is asked from.
// Times are UTC.
// A five-field expression is refused with the reason: it is the seeds' most common mistake.

interface Field {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { min: 0, max: 59 }, // second
  { min: 0, max: 59 }, // minute
  { min: 0, max: 23 }, // hour
  { min: 1, max: 31 }, // day of month
  { min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { min: 0, max: 6, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] }, // day of week
];

const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

/** How far ahead `next` looks before deciding an expression never fires (`0 0 0 30 2 *`). */
const HORIZON_YEARS = 5;

export class CronError extends Error {
  override name = "CronError";
}

export interface CronSchedule {
  /** The expression as given. */
  readonly text: string;
  /** The first time strictly after `after` (whole seconds, UTC) it fires; undefined if never. */
  next(after: Date): Date | undefined;
}

interface ParsedField {
  readonly values: ReadonlySet<number>;
  /** Written as `*` or `?`: no restriction (matters for the day-of-month / day-of-week rule). */
  readonly any: boolean;
}

function parseNumber(text: string, field: Field, position: string): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + field.min;
  if (!/^\d+$/.test(text)) throw new CronError(`invalid ${position} value ${JSON.stringify(text)}`);
  const value = Number(text);
  // Day of week 7 is Sunday too.
  if (field === FIELDS[5] && value === 7) return 0;
  if (value < field.min || value > field.max) {
    throw new CronError(`${position} value ${value} is out of range ${field.min}-${field.max}`);
  }
  return value;
}

function parseField(text: string, field: Field, position: string): ParsedField {
  const values = new Set<number>();
  let any = false;
  for (const part of text.split(",")) {
    const [rangeText = "", stepText, extra] = part.split("/");
    if (extra !== undefined || rangeText === "") throw new CronError(`invalid ${position} ${JSON.stringify(part)}`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || (stepText !== undefined && !/^\d+$/.test(stepText))) {
      throw new CronError(`invalid step in ${position} ${JSON.stringify(part)}`);
    }
    let from: number;
    let to: number;
    if (rangeText === "*" || rangeText === "?") {
      from = field.min;
      to = field.max;
      if (stepText === undefined) any = true;
    } else if (rangeText.includes("-")) {
      const [a = "", b = ""] = rangeText.split("-");
      from = parseNumber(a, field, position);
      to = parseNumber(b, field, position);
      if (to < from) throw new CronError(`${position} range ${JSON.stringify(rangeText)} runs backwards`);
    } else {
      from = parseNumber(rangeText, field, position);
      // `a/n` means from a to the end, every n.
      to = stepText === undefined ? from : field.max;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return { values, any };
}

const POSITIONS = ["second", "minute", "hour", "day of month", "month", "day of week"];

/** `@every 1h30m`'s duration in milliseconds (whole seconds, at least one). */
function everyMs(text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  const ms = match ? (Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)) * 1000 : 0;
  if (!match || ms < 1000) throw new CronError(`invalid @every duration ${JSON.stringify(text)}: e.g. 90s, 10m, 1h30m`);
  return ms;
}

/** Parses an expression; throws CronError with the reason when it is not one. */
export function parseCron(text: string): CronSchedule {
  const trimmed = text.trim();
  if (trimmed.toLowerCase().startsWith("@every ")) {
    const interval = everyMs(trimmed.slice("@every ".length));
    return { text, next: (after) => new Date(Math.floor(after.getTime() / 1000) * 1000 + interval) };
  }
  const expanded = DESCRIPTORS[trimmed.toLowerCase()] ?? trimmed;
  const parts = expanded.split(/\s+/).filter(Boolean);
  if (parts.length === 5) {
    throw new CronError(
      `${JSON.stringify(text)} has five fields: Harbor's cron has six, seconds first (e.g. "0 ${expanded}")`,
    );
  }
  if (parts.length !== 6) throw new CronError(`${JSON.stringify(text)} must have six fields, seconds first`);
  const fields = parts.map((part, i) => parseField(part, FIELDS[i] as Field, POSITIONS[i] as string));
  const [seconds, minutes, hours, days, months, weekdays] = fields as [
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
  ];

  const dayMatches = (date: Date): boolean => {
    const dom = days.values.has(date.getUTCDate());
    const dow = weekdays.values.has(date.getUTCDay());
    // As in cron: with both fields restricted a day matches either; otherwise both.
    return days.any || weekdays.any ? dom && dow : dom || dow;
  };

  return {
    text,
    next(after: Date): Date | undefined {
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      const limit = after.getTime() + HORIZON_YEARS * 366 * 86_400_000;
      while (t.getTime() <= limit) {
        if (!months.values.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hours.values.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes.values.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        if (!seconds.values.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
          continue;
        }
        return t;
      }
      return undefined;
    },
  };
}

/** Harbor's schedule types and the cron each stands for when none is given. */
export const SCHEDULE_TYPE_CRON: Readonly<Record<string, string>> = {
  Hourly: "0 0 * * * *",
  Daily: "0 0 0 * * *",
  Weekly: "0 0 0 * * 0",
};
