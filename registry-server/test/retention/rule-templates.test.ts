// Every template Harbor's rule index registers: which selected artifacts it keeps (Harbor's
// evaluators, times in Unix seconds) and how its parameter is validated (Harbor's messages).

import { describe, expect, it } from "vitest";
import {
  GO_ZERO_TIME,
  RULE_TEMPLATES,
  templateProblem,
  templateValue,
  type RuleTemplate,
  type TimedArtifact,
} from "../../src/retention/rule-templates.ts";

const NOW = new Date("2026-03-10T12:00:00.500Z");
const NOW_S = Math.floor(NOW.getTime() / 1000);
const DAY = 86_400;

interface Named extends TimedArtifact {
  readonly name: string;
}

// a: pushed 1 day ago, pulled 10 days ago; b: pushed 5 days ago, pulled 1 hour ago;
// c: pushed 20 days ago, never pulled; d: pushed 3 days ago, pulled 2 days ago.
const ARTIFACTS: readonly Named[] = [
  { name: "a", pushed: NOW_S - 1 * DAY, pulled: NOW_S - 10 * DAY },
  { name: "b", pushed: NOW_S - 5 * DAY, pulled: NOW_S - 3600 },
  { name: "c", pushed: NOW_S - 20 * DAY, pulled: GO_ZERO_TIME },
  { name: "d", pushed: NOW_S - 3 * DAY, pulled: NOW_S - 2 * DAY },
];

function template(id: string): RuleTemplate {
  const found = RULE_TEMPLATES.get(id);
  if (!found) throw new Error(`no template ${id}`);
  return found;
}

function keep(id: string, value: number, artifacts: readonly Named[] = ARTIFACTS): string[] {
  return template(id)
    .keep(artifacts, value, NOW)
    .map((a) => a.name);
}

describe("templates", () => {
  it("registers Harbor's seven templates, and not 'nothing'", () => {
    expect([...RULE_TEMPLATES.keys()].sort()).toEqual([
      "always",
      "lastXDays",
      "latestActiveK",
      "latestPulledN",
      "latestPushedK",
      "nDaysSinceLastPull",
      "nDaysSinceLastPush",
    ]);
  });

  it.each([
    ["latestPushedK", 2, ["a", "d"]],
    ["latestPushedK", 0, []],
    ["latestPushedK", 10, ["a", "d", "b", "c"]],
    ["latestPulledN", 2, ["b", "d"]],
    ["latestPulledN", 4, ["b", "d", "a", "c"]],
    ["latestActiveK", 2, ["b", "a"]],
    ["lastXDays", 4, ["a", "d"]],
    ["nDaysSinceLastPush", 5, ["a", "b", "d"]],
    ["nDaysSinceLastPush", 0, []],
    ["nDaysSinceLastPull", 2, ["b", "d"]],
    ["nDaysSinceLastPull", 1, ["b"]],
    ["always", 0, ["a", "b", "c", "d"]],
  ])("%s with %i keeps %j", (id, value, expected) => {
    expect(keep(id, value)).toEqual(expected);
  });

  it("keeps the order given between artifacts pushed in the same second", () => {
    const same = [
      { name: "x", pushed: 100, pulled: 0 },
      { name: "y", pushed: 100, pulled: 0 },
      { name: "z", pushed: 100, pulled: 0 },
    ];
    expect(keep("latestPushedK", 2, same)).toEqual(["x", "y"]);
  });

  it("bounds the day windows as Harbor: inclusive for nDaysSince*, exclusive for lastXDays", () => {
    const edge = [{ name: "edge", pushed: NOW_S - 2 * DAY, pulled: NOW_S - 2 * DAY }];
    expect(keep("nDaysSinceLastPush", 2, edge)).toEqual(["edge"]);
    expect(keep("nDaysSinceLastPull", 2, edge)).toEqual(["edge"]);
    // the cutoff keeps NOW's milliseconds: a push at NOW_S - 2 days is 500 ms before it
    expect(keep("lastXDays", 2, edge)).toEqual([]);
  });
});

describe("templateProblem", () => {
  it.each([
    ["latestPushedK", { latestPushedK: 10 }],
    ["latestPushedK", { latestPushedK: 0 }],
    ["latestPushedK", { latestPushedK: 32_766 }],
    ["latestPushedK", { latestPushedK: 10.7 }],
    ["latestPulledN", { latestPulledN: 5 }],
    ["nDaysSinceLastPull", { nDaysSinceLastPull: 20_190_904 }],
    ["nDaysSinceLastPush", { nDaysSinceLastPush: 7, unrelated: "kept" }],
    ["latestActiveK", { latestActiveK: 3 }],
    ["lastXDays", { lastXDays: 3 }],
    ["always", {}],
  ])("accepts %s %j", (id, params) => {
    expect(templateProblem(id, params)).toBeUndefined();
  });

  it.each([
    ["", {}, undefined, "empty rule template ID"],
    ["latestPushedX", {}, undefined, "rule evaluator latestPushedX is not registered"],
    ["nothing", {}, undefined, "rule evaluator nothing is not registered"],
    ["latestPushedK", {}, "latestPushedK", "missing required parameter latestPushedK for rule latestPushedK"],
    [
      "latestPushedK",
      { latestPulledN: 3 },
      "latestPushedK",
      "missing required parameter latestPushedK for rule latestPushedK",
    ],
    ["latestPushedK", { latestPushedK: "10" }, "latestPushedK", "latestPushedK type error"],
    ["latestPushedK", { latestPushedK: null }, "latestPushedK", "latestPushedK type error"],
    ["latestPushedK", { latestPushedK: -1 }, "latestPushedK", "latestPushedK is less than zero"],
    ["latestPushedK", { latestPushedK: 32_767 }, "latestPushedK", "latestPushedK is too large"],
    ["latestPulledN", { latestPulledN: true }, "latestPulledN", "latestPulledN type error"],
    ["nDaysSinceLastPull", { nDaysSinceLastPull: 20_190_905 }, "nDaysSinceLastPull", "nDaysSinceLastPull is too large"],
    ["nDaysSinceLastPush", { nDaysSinceLastPush: -3 }, "nDaysSinceLastPush", "nDaysSinceLastPush is less than zero"],
    ["latestActiveK", { latestActiveK: "3" }, "latestActiveK", "latestActiveK type error"],
    ["lastXDays", { lastXDays: -1 }, "lastXDays", "lastXDays is less than zero"],
  ])("refuses %s %j at %s: %s", (id, params, param, message) => {
    expect(templateProblem(id, params)).toEqual(param === undefined ? { message } : { param, message });
  });
});

describe("templateValue", () => {
  it.each([
    ["latestPushedK", { latestPushedK: 4 }, 4],
    ["latestPushedK", { latestPushedK: 4.9 }, 4],
    ["latestPushedK", { latestPushedK: -2 }, 10],
    ["latestPushedK", {}, 10],
    ["nDaysSinceLastPull", { nDaysSinceLastPull: "x" }, 30],
    ["nDaysSinceLastPush", {}, 30],
    ["lastXDays", {}, 10],
  ])("%s with %j runs with %i", (id, params, expected) => {
    expect(templateValue(template(id), params)).toBe(expected);
  });
});
