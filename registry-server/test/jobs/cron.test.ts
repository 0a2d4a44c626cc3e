// Harbor's six-field cron (seconds first), as the Go library Harbor uses reads it: the next
// firing time of each form, in UTC, and the refusals with their reasons.

import { describe, expect, it } from "vitest";
import { CronError, parseCron } from "../../src/jobs/cron.ts";

const next = (cron: string, after: string): string | undefined => parseCron(cron).next(new Date(after))?.toISOString();

describe("cron", () => {
  it("fires at the next matching second, strictly after the given time", () => {
    expect(next("0 0 * * * *", "2024-03-10T10:15:30.500Z")).toBe("2024-03-10T11:00:00.000Z");
    expect(next("0 0 * * * *", "2024-03-10T11:00:00.000Z")).toBe("2024-03-10T12:00:00.000Z");
    expect(next("* * * * * *", "2024-03-10T11:00:00.900Z")).toBe("2024-03-10T11:00:01.000Z");
    expect(next("0 */15 * * * *", "2024-03-10T10:15:00Z")).toBe("2024-03-10T10:30:00.000Z");
    expect(next("30 5 3 * * *", "2024-03-10T10:15:00Z")).toBe("2024-03-11T03:05:30.000Z");
  });

  it("rolls over months and years, and knows month lengths and leap years", () => {
    expect(next("0 0 0 1 * *", "2024-01-31T12:00:00Z")).toBe("2024-02-01T00:00:00.000Z");
    expect(next("0 0 0 29 2 *", "2024-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("0 0 0 31 * *", "2024-04-01T00:00:00Z")).toBe("2024-05-31T00:00:00.000Z");
    expect(next("@yearly", "2024-06-01T00:00:00Z")).toBe("2025-01-01T00:00:00.000Z");
  });

  it("reads ranges, steps, lists, names and Sunday as 0 or 7", () => {
    // 2024-03-10 is a Sunday.
    expect(next("0 0 9 * * MON-FRI", "2024-03-09T10:00:00Z")).toBe("2024-03-11T09:00:00.000Z");
    expect(next("0 0 0 * * 0", "2024-03-06T00:00:00Z")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("0 0 0 * * 7", "2024-03-06T00:00:00Z")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("0 0 0 * * sun", "2024-03-06T00:00:00Z")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("0 0 12 * JUN,DEC ?", "2024-03-06T00:00:00Z")).toBe("2024-06-01T12:00:00.000Z");
    expect(next("0 10-20/5 8 * * *", "2024-03-06T08:11:00Z")).toBe("2024-03-06T08:15:00.000Z");
    expect(next("0 50/5 * * * *", "2024-03-06T08:56:00Z")).toBe("2024-03-06T09:50:00.000Z");
  });

  it("matches a day that fits either of a restricted day of month and day of week", () => {
    // The 13th, or any Friday: 2024-09-06 is a Friday, before the 13th.
    expect(next("0 0 0 13 * FRI", "2024-09-01T00:00:00Z")).toBe("2024-09-06T00:00:00.000Z");
    expect(next("0 0 0 13 * FRI", "2024-09-10T00:00:00Z")).toBe("2024-09-13T00:00:00.000Z");
  });

  it("reads Harbor's descriptors", () => {
    expect(next("@hourly", "2024-03-06T08:11:00Z")).toBe("2024-03-06T09:00:00.000Z");
    expect(next("@daily", "2024-03-06T08:11:00Z")).toBe("2024-03-07T00:00:00.000Z");
    expect(next("@weekly", "2024-03-06T08:11:00Z")).toBe("2024-03-10T00:00:00.000Z");
  });

  it("says when an expression never fires", () => {
    expect(next("0 0 0 30 2 *", "2024-01-01T00:00:00Z")).toBeUndefined();
  });

  it("refuses what is not six fields or not in range, with the reason", () => {
    expect(() => parseCron("0 0 * * 0")).toThrow(/five fields.*six, seconds first.*"0 0 0 \* \* 0"/);
    expect(() => parseCron("0 0 * * * * *")).toThrow(CronError);
    expect(() => parseCron("60 * * * * *")).toThrow(/second value 60 is out of range 0-59/);
    expect(() => parseCron("0 0 25 * * *")).toThrow(/hour/);
    expect(() => parseCron("0 0 0 0 * *")).toThrow(/day of month/);
    expect(() => parseCron("0 0 0 * 13 *")).toThrow(/month/);
    expect(() => parseCron("*/0 * * * * *")).toThrow(/step/);
    expect(() => parseCron("0 5-1 * * * *")).toThrow(/backwards/);
    expect(() => parseCron("0 x * * * *")).toThrow(/minute/);
    expect(() => parseCron("")).toThrow(CronError);
  });
});
