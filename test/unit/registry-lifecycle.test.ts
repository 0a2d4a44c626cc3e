// The lifecycle providers' pure parts: schedules normalised to the cron the registry stores,
// retention rules in words mapped to Harbor's templates and selectors and back, immutable tag
// rules, the GC and audit purge schedules' bodies and replies, and the diffs. The property that
// keeps refresh quiet is tested directly: what `check` makes of an input, sent to the registry
// and read back as the registry answers it, is the same input.

import { describe, expect, it } from "vitest";
import {
  auditPurgeScheduleBody,
  auditPurgeScheduleFromHarbor,
  auditPurgeScheduleProvider,
  checkAuditPurgeSchedule,
} from "../../components/registry/audit-purge-schedule";
import { checkGcSchedule, gcScheduleBody, gcScheduleFromHarbor } from "../../components/registry/gc-schedule";
import {
  checkImmutableTagRule,
  immutableRuleBody,
  immutableRuleFromHarbor,
  immutableTagRuleProvider,
} from "../../components/registry/immutable-tag-rule";
import { patternProblem } from "../../components/registry/pattern-selector";
import {
  checkRetentionPolicy,
  proxyExpiryRules,
  retentionPolicyBody,
  retentionPolicyProvider,
  ruleFromHarbor,
  type RetentionPolicyInputs,
  type RetentionRule,
} from "../../components/registry/retention-policy";
import { liveSchedule, normaliseSchedule, scheduleType } from "../../components/registry/schedule";

const connection = { url: "https://registry.test:5443", username: "admin", password: "pw" };

describe("schedules", () => {
  it.each([
    ["Daily", "0 0 0 * * *"],
    ["daily", "0 0 0 * * *"],
    ["WEEKLY", "0 0 0 * * 0"],
    ["hourly", "0 0 * * * *"],
    ["@weekly", "0 0 0 * * 0"],
    ["@midnight", "0 0 0 * * *"],
    ["@monthly", "0 0 0 1 * *"],
    ["0 0 3 * * *", "0 0 3 * * *"],
    ["  0  30 2 * *   mon ", "0 30 2 * * MON"],
    ["0 0 0 * * mon-fri", "0 0 0 * * MON-FRI"],
    ["*/15 * * * * *", "*/15 * * * * *"],
    ["0 0 0 ? jan-jun 7", "0 0 0 ? JAN-JUN 7"],
    ["0 0 1,13 1/2 * *", "0 0 1,13 1/2 * *"],
  ])("%j is the cron %j", (given, cron) => {
    expect(normaliseSchedule(given, false)).toEqual({ cron });
  });

  it.each([
    ["0 3 * * 0", 'has five fields: Harbor\'s cron has six, seconds first (e.g. "0 0 3 * * 0")'],
    ["0 0 25 * * *", "hour out of range 0-23"],
    ["0 0 0 * * 8", "day of week out of range 0-7"],
    ["0 0 0 0 * *", "day of month out of range 1-31"],
    ["0 0 5-2 * * *", 'hour range "5-2" runs backwards'],
    ["0 0 0 * * */0", 'invalid day of week "*/0"'],
    ["0 0 0 * * * *", "expected Hourly, Daily, Weekly or a six-field cron"],
    ["fortnightly", "expected Hourly, Daily, Weekly or a six-field cron"],
    ["", "expected Hourly, Daily, Weekly or a six-field cron"],
    ["None", "expected Hourly, Daily, Weekly or a six-field cron"],
  ])("%j is refused: %s", (given, reason) => {
    expect(normaliseSchedule(given, false).problem).toContain(reason);
  });

  it("lets a retention policy have no schedule: empty or None, any case", () => {
    expect(normaliseSchedule("", true)).toEqual({ cron: "" });
    expect(normaliseSchedule("none", true)).toEqual({ cron: "" });
    expect(normaliseSchedule(42, true).problem).toContain('or "None", got 42');
  });

  it("names Harbor's type after the cron, and keeps a live cron it cannot read as it came", () => {
    expect(scheduleType("0 0 0 * * 0")).toBe("Weekly");
    expect(scheduleType("0 0 * * * *")).toBe("Hourly");
    expect(scheduleType("0 0 3 * * *")).toBe("Custom");
    expect(liveSchedule("@every 1h", false)).toBe("@every 1h");
    expect(liveSchedule("0 0 0 * * sun", false)).toBe("0 0 0 * * SUN");
    expect(liveSchedule(undefined, true)).toBe("");
  });
});

describe("patterns", () => {
  it.each([
    ["**", undefined],
    ["v*", undefined],
    ["{alpha,beta}-*", undefined],
    ["[a-z]*", undefined],
    ["release-\\*", undefined],
    ["[{]", undefined],
    ["", "expected a pattern"],
    ["   ", "expected a pattern"],
    ["[v*", "leaves a [ open"],
    ["{a,b", "leaves a { open"],
    ["{a]b}", "closes a ] it did not open"],
    ["tail\\", "ends with an escape"],
  ])("%j: %s", (pattern, problem) => {
    const found = patternProblem(pattern);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});

/** What `check` makes of a policy's inputs. */
function checkedPolicy(rules: unknown[], schedule = "Daily"): RetentionPolicyInputs {
  const { inputs, failures } = checkRetentionPolicy({ connection, project: "production", rules, schedule });
  expect(failures).toEqual([]);
  return inputs as RetentionPolicyInputs;
}

/** A policy body as the registry stores and answers it (as JSON, rules renumbered). */
function asAnswered(body: Record<string, unknown>): { rules: unknown[]; trigger: { settings: { cron: string } } } {
  return JSON.parse(JSON.stringify(body)) as { rules: unknown[]; trigger: { settings: { cron: string } } };
}

describe("retention rules", () => {
  it("map the guide's policy to Harbor's templates, params and selectors", () => {
    const inputs = checkedPolicy([{ keepLatestPushed: 10 }, { keepPushedWithinDays: 30 }]);
    expect(retentionPolicyBody(inputs.rules, inputs.schedule, 4, 0)).toEqual({
      id: 0,
      algorithm: "or",
      rules: [
        {
          id: 1,
          priority: 0,
          disabled: false,
          action: "retain",
          template: "latestPushedK",
          params: { latestPushedK: 10 },
          tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":false}' }],
          scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
        },
        {
          id: 2,
          priority: 0,
          disabled: false,
          action: "retain",
          template: "nDaysSinceLastPush",
          params: { nDaysSinceLastPush: 30 },
          tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: '{"untagged":false}' }],
          scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
        },
      ],
      trigger: { kind: "Schedule", settings: { cron: "0 0 0 * * *" } },
      scope: { level: "project", ref: 4 },
    });
  });

  it("give `untagged` one meaning whichever the tag decoration: the rule looks at untagged artifacts", () => {
    const inputs = checkedPolicy([
      { keepLatestPulled: 5, tags: { excludes: "tmp-*" }, untagged: true },
      { keepLatestPulled: 5, tags: { excludes: "tmp-*" }, untagged: false },
      { keepLatestPulled: 5, untagged: true },
    ]);
    const extras = (
      retentionPolicyBody(inputs.rules, "", 1, 0)["rules"] as Array<{
        tag_selectors: Array<{ decoration: string; extras: string }>;
      }>
    ).map((rule) => [rule.tag_selectors[0]?.decoration, rule.tag_selectors[0]?.extras]);
    // Harbor's doublestar selector: `excludes` selects an untagged artifact when the flag is false.
    expect(extras).toEqual([
      ["excludes", '{"untagged":false}'],
      ["excludes", '{"untagged":true}'],
      ["matches", '{"untagged":true}'],
    ]);
  });

  it.each<[string, unknown[]]>([
    [
      "the five templates",
      [
        { keepLatestPushed: 10 },
        { keepLatestPulled: 3, repositories: { matches: "apps/**" } },
        { keepPushedWithinDays: 30, tags: { excludes: "tmp-*" } },
        { keepPulledWithinDays: 7, untagged: true },
        { always: true, tags: { matches: "v*" }, repositories: { excludes: "sandbox/**" }, disabled: true },
      ],
    ],
    ["a proxy cache's expiry", proxyExpiryRules(14)],
    ["zero, Harbor's smallest count", [{ keepLatestPushed: 0 }]],
  ])("read back as they were sent: %s", (_what, rules) => {
    for (const schedule of ["Daily", "weekly", "0 0 3 * * mon", "None"]) {
      const inputs = checkedPolicy(rules, schedule);
      const answered = asAnswered(retentionPolicyBody(inputs.rules, inputs.schedule, 4, 9));
      expect(answered.rules.map((rule) => ruleFromHarbor(rule as never))).toEqual(inputs.rules);
      expect(liveSchedule(answered.trigger.settings.cron, true)).toBe(inputs.schedule);
    }
  });

  it("read Harbor's portal rules, whose extras may be missing, as Harbor's selector runs them", () => {
    const portal = (decoration: string, extras?: string) => ({
      id: 1,
      priority: 0,
      disabled: false,
      action: "retain",
      template: "latestPushedK",
      params: { latestPushedK: 10 },
      tag_selectors: [{ kind: "doublestar", decoration, pattern: "**", ...(extras !== undefined && { extras }) }],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    });
    const untagged = (rule: ReturnType<typeof ruleFromHarbor>): unknown => (rule as RetentionRule).untagged;
    // No extras: doublestar.New keeps untagged artifacts under both decorations.
    expect(untagged(ruleFromHarbor(portal("matches")))).toBe(true);
    expect(untagged(ruleFromHarbor(portal("excludes")))).toBe(true);
    expect(untagged(ruleFromHarbor(portal("matches", '{"untagged":false}')))).toBe(false);
    expect(untagged(ruleFromHarbor(portal("excludes", '{"untagged":true}')))).toBe(false);
    // Go's decoder: {} and null clear the flag, unparseable extras keep the default.
    expect(untagged(ruleFromHarbor(portal("matches", "{}")))).toBe(false);
    expect(untagged(ruleFromHarbor(portal("matches", "null")))).toBe(false);
    expect(untagged(ruleFromHarbor(portal("matches", "not json")))).toBe(true);
    expect(untagged(ruleFromHarbor(portal("matches", '{"Untagged":false}')))).toBe(false);
    // No repository selector at all selects every repository.
    expect(ruleFromHarbor({ ...portal("matches"), scope_selectors: {} })).toMatchObject({
      repositories: { matches: "**" },
      keepLatestPushed: 10,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ["a template the inputs do not name", { template: "latestActiveK", params: { latestActiveK: 3 } }],
    [
      "two tag selectors",
      {
        tag_selectors: [
          { kind: "doublestar", decoration: "matches", pattern: "a" },
          { kind: "doublestar", decoration: "matches", pattern: "b" },
        ],
      },
    ],
    [
      "a namespace selector",
      { scope_selectors: { namespace: [{ kind: "doublestar", decoration: "nsMatches", pattern: "**" }] } },
    ],
    ["a parameter that is not a number", { params: { latestPushedK: "10" } }],
    ["another action", { action: "delete" }],
  ])("report a live rule with %s as `harborRule`, which differs from any declared rule", (_what, change) => {
    const declared = asAnswered(retentionPolicyBody(checkedPolicy([{ keepLatestPushed: 10 }]).rules, "", 1, 1))
      .rules[0] as Record<string, unknown>;
    const live = ruleFromHarbor({ ...declared, ...change });
    expect(live).toEqual({ harborRule: expect.stringContaining('"template"') as unknown });
    expect(JSON.stringify(live)).not.toContain('"id"');
    expect(() => retentionPolicyBody([live], "", 1, 1)).toThrow(/cannot be sent back/);
  });

  it.each<[unknown, string]>([
    [
      {},
      "expected exactly one of keepLatestPushed, keepLatestPulled, keepPushedWithinDays, keepPulledWithinDays, always, got none",
    ],
    [{ keepLatestPushed: 1, always: true }, "got keepLatestPushed and always"],
    [{ always: false }, "rules[0].always: expected true"],
    [{ keepLatestPushed: 32_767 }, "rules[0].keepLatestPushed: expected a whole number from 0 to 32766"],
    [{ keepPulledWithinDays: 1.5 }, "rules[0].keepPulledWithinDays: expected a whole number"],
    [{ keepPulledWithinDays: 20_190_905 }, "from 0 to 20190904"],
    [{ keepLatestPushed: 1, untagged: "no" }, "rules[0].untagged: expected true or false"],
    [
      { keepLatestPushed: 1, tags: "v*" },
      'rules[0].tags: expected { matches: "<pattern>" } or { excludes: "<pattern>" }',
    ],
    [{ keepLatestPushed: 1, repository: { matches: "**" } }, "rules[0].repository: unknown key"],
    ["keep 10", "rules[0]: expected a rule such as { keepLatestPushed: 10 }"],
  ])("check refuses %j naming the rule and its key", async (rule, reason) => {
    const { failures } = checkRetentionPolicy({ connection, project: "p", rules: [rule], schedule: "Daily" });
    expect(failures).toContainEqual({ property: "rules", reason: expect.stringContaining(reason) as unknown });
  });

  it("check refuses two rules alike as Harbor would (409), and a five-field schedule naming the key", () => {
    const { failures } = checkRetentionPolicy({
      connection,
      project: "p",
      rules: [{ keepLatestPushed: 3 }, { keepLatestPushed: 3, tags: { matches: "**" } }],
      schedule: "0 3 * * 0",
    });
    expect(failures).toEqual([
      { property: "rules", reason: "rules[1] is the same as rules[0]" },
      { property: "schedule", reason: expect.stringContaining('e.g. "0 0 3 * * 0"') as unknown },
    ]);
  });
});

describe("retention policy diff", () => {
  const olds = { ...checkedPolicy([{ keepLatestPushed: 10 }], "0 0 0 * * *"), policyId: 3, projectId: 4 };
  const diff = retentionPolicyProvider.diff!;

  it.each<[string, unknown[], string, { changes: boolean; replaces: string[] }]>([
    [
      "the same policy said another way",
      [{ keepLatestPushed: 10, tags: { matches: "**" }, untagged: false }],
      "daily",
      { changes: false, replaces: [] },
    ],
    ["another count", [{ keepLatestPushed: 5 }], "Daily", { changes: true, replaces: [] }],
    ["another schedule", [{ keepLatestPushed: 10 }], "Weekly", { changes: true, replaces: [] }],
    [
      "one more rule",
      [{ keepLatestPushed: 10 }, { always: true, tags: { matches: "v*" } }],
      "Daily",
      { changes: true, replaces: [] },
    ],
  ])("%s", async (_what, rules, schedule, expected) => {
    expect(await diff("3", olds, checkedPolicy(rules, schedule))).toMatchObject(expected);
  });

  it("replaces the policy when its project changes", async () => {
    expect(await diff("3", olds, { ...olds, project: "other" })).toMatchObject({
      changes: true,
      replaces: ["project"],
    });
  });
});

describe("immutable tag rules", () => {
  const checked = (news: Record<string, unknown>) => {
    const { inputs, failures } = checkImmutableTagRule({ connection, project: "production", ...news });
    expect(failures).toEqual([]);
    return inputs as Parameters<typeof immutableRuleBody>[0];
  };

  it("send Harbor's portal body: action, template, one tag and one repository selector", () => {
    expect(immutableRuleBody(checked({ tags: { matches: "v*" } }), 0)).toEqual({
      id: 0,
      disabled: false,
      priority: 0,
      action: "immutable",
      template: "immutable_template",
      tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "v*" }],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**" }] },
    });
  });

  it.each([
    { tags: { matches: "v*" } },
    { tags: { excludes: "latest" }, repositories: { excludes: "sandbox/**" }, disabled: true },
    { tags: { matches: "release-{a,b}" }, repositories: { matches: "apps/*" } },
  ])("read back as they were sent: %j", (news) => {
    const inputs = checked(news);
    const answered = JSON.parse(JSON.stringify({ ...immutableRuleBody(inputs, 5), project_id: 1 })) as never;
    expect(immutableRuleFromHarbor(answered)).toEqual({
      repositories: inputs.repositories,
      tags: inputs.tags,
      disabled: inputs.disabled,
    });
  });

  it("report selectors the inputs cannot say as a pattern no declared rule has", () => {
    const live = immutableRuleFromHarbor({
      id: 1,
      tag_selectors: [
        { kind: "doublestar", decoration: "matches", pattern: "v*" },
        { kind: "doublestar", decoration: "matches", pattern: "r*" },
      ],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "nsMatches", pattern: "**" }] },
    });
    expect(live.tags.matches).toContain("selectors the inputs cannot say");
    expect(live.repositories.matches).toContain("nsMatches");
  });

  it("diff: a pattern or the state is an update, the project a replacement made after deleting the old rule", async () => {
    const olds = { ...checked({ tags: { matches: "v*" } }), ruleId: 5 };
    const diff = immutableTagRuleProvider.diff!;
    expect(await diff("5", olds, checked({ tags: { matches: "v*" }, repositories: { matches: "**" } }))).toMatchObject({
      changes: false,
    });
    expect(await diff("5", olds, checked({ tags: { matches: "v*" }, disabled: true }))).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(await diff("5", olds, checked({ tags: { excludes: "v*" } }))).toMatchObject({ changes: true, replaces: [] });
    expect(await diff("5", olds, { ...olds, project: "staging" })).toMatchObject({
      replaces: ["project"],
      deleteBeforeReplace: true,
    });
  });
});

describe("the GC and audit log purge schedules", () => {
  it("GC: Harbor's Schedule body with its type after the cron, read back from the reply with the server's time window", () => {
    const { inputs, failures } = checkGcSchedule({ connection, schedule: "weekly", deleteUntagged: true });
    expect(failures).toEqual([]);
    const body = gcScheduleBody(inputs as never);
    expect(body).toEqual({
      schedule: { type: "Weekly", cron: "0 0 0 * * 0" },
      parameters: { delete_untagged: true, workers: 1, dry_run: false },
    });
    const reply = {
      id: 1,
      schedule: { type: "Weekly", cron: "0 0 0 * * 0", next_scheduled_time: "2026-12-13T00:00:00.000Z" },
      job_parameters: JSON.stringify({ ...(body["parameters"] as object), time_window: 2 }),
    };
    expect(gcScheduleFromHarbor(reply)).toEqual({
      schedule: "0 0 0 * * 0",
      deleteUntagged: true,
      workers: 1,
      dryRun: false,
    });
    // As Harbor's GC job reads them: only a JSON false turns delete_untagged off.
    expect(gcScheduleFromHarbor({ schedule: { cron: "0 0 3 * * *" }, job_parameters: "{}" })).toEqual({
      schedule: "0 0 3 * * *",
      deleteUntagged: true,
      workers: 1,
      dryRun: false,
    });
    const custom = checkGcSchedule({ connection, schedule: "0 0 3 * * sat", workers: 3 }).inputs;
    expect(gcScheduleBody(custom as never)["schedule"]).toEqual({ type: "Custom", cron: "0 0 3 * * SAT" });
  });

  it("audit purge: event types sorted once, sent as Harbor's comma-separated string and read back alike", async () => {
    const { inputs, failures } = checkAuditPurgeSchedule({
      connection,
      schedule: "Daily",
      retentionHours: 720,
      includeEventTypes: ["pull_artifact", " Create_Artifact", "pull_artifact"],
    });
    expect(failures).toEqual([]);
    const body = auditPurgeScheduleBody(inputs as never);
    expect(body["parameters"]).toEqual({
      audit_retention_hour: 720,
      include_event_types: "create_artifact,pull_artifact",
      dry_run: false,
    });
    const live = auditPurgeScheduleFromHarbor({
      schedule: { cron: "0 0 0 * * *" },
      job_parameters: JSON.stringify({
        ...(body["parameters"] as object),
        include_event_types: "pull_artifact,create_artifact",
      }),
    });
    expect(
      await auditPurgeScheduleProvider.diff!("purgeaudit-schedule", inputs as never, { connection, ...live }),
    ).toMatchObject({
      changes: false,
    });
    expect(
      auditPurgeScheduleFromHarbor({
        schedule: { cron: "0 0 0 * * *" },
        job_parameters: '{"audit_retention_hour":"48"}',
      }),
    ).toMatchObject({ retentionHours: 48, includeEventTypes: [] });
  });
});
