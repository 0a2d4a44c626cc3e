// The body of GET /api/v2.0/retentions/metadatas, as Harbor answers it: the literal payload of
// src/server/v2.0/handler/retention.go (swagger RetentionMetadata). Harbor's portal builds its rule
// editor from it: the five templates it offers (the rule index also knows latestActiveK and
// lastXDays, which it does not list), the tag and repository selector decorations. The texts,
// the upper-case units and the empty `params` of "always" are Harbor's.

export interface RetentionRuleParamMetadata {
  readonly type: string;
  readonly unit: string;
  readonly required: boolean;
}

export interface RetentionRuleMetadata {
  readonly rule_template: string;
  readonly display_text: string;
  readonly action: string;
  readonly params: readonly RetentionRuleParamMetadata[];
}

export interface RetentionSelectorMetadata {
  readonly display_text: string;
  readonly kind: string;
  readonly decorations: readonly string[];
}

export interface RetentionMetadataPayload {
  readonly templates: readonly RetentionRuleMetadata[];
  readonly scope_selectors: readonly RetentionSelectorMetadata[];
  readonly tag_selectors: readonly RetentionSelectorMetadata[];
}

const count: RetentionRuleParamMetadata = { type: "int", unit: "COUNT", required: true };
const days: RetentionRuleParamMetadata = { type: "int", unit: "DAYS", required: true };

export const RETENTION_METADATA: RetentionMetadataPayload = {
  templates: [
    {
      rule_template: "latestPushedK",
      display_text: "the most recently pushed # artifacts",
      action: "retain",
      params: [count],
    },
    {
      rule_template: "latestPulledN",
      display_text: "the most recently pulled # artifacts",
      action: "retain",
      params: [count],
    },
    {
      rule_template: "nDaysSinceLastPush",
      display_text: "pushed within the last # days",
      action: "retain",
      params: [days],
    },
    {
      rule_template: "nDaysSinceLastPull",
      display_text: "pulled within the last # days",
      action: "retain",
      params: [days],
    },
    { rule_template: "always", display_text: "always", action: "retain", params: [] },
  ],
  scope_selectors: [{ display_text: "Repositories", kind: "doublestar", decorations: ["repoMatches", "repoExcludes"] }],
  tag_selectors: [{ display_text: "Tags", kind: "doublestar", decorations: ["matches", "excludes"] }],
};
