// Harbor's Slack message (src/pkg/notifier/handler/notification/slack_handler.go): Block Kit
// sections saying the event type, the time (Slack's <!date^…> token), the operator, and the event
// data as tab-indented JSON in a code block; `Content-Type: application/json`
// (src/jobservice/job/impl/notification/slack_job.go).
//
// Harbor fills a text template, so its body holds the indented JSON's newlines and tabs raw inside
// a JSON string, which Slack tolerates and strict parsers refuse. This body is the same message
// written as valid JSON: what Slack decodes from either is the same text.

import type { HarborPayload } from "./event-payload.ts";
import type { FormattedPayload } from "./payload-format.ts";

function section(text: string): Record<string, unknown> {
  return { type: "section", text: { type: "mrkdwn", text } };
}

export function formatSlack(payload: HarborPayload): FormattedPayload {
  // Go's json.MarshalIndent(eventData, "", "\t"); a missing event_data is Go's nil, "null".
  const eventData = JSON.stringify(payload.event_data ?? null, null, "\t");
  const message = {
    blocks: [
      section("*Harbor webhook events*"),
      section(`*event_type:* ${payload.type}`),
      section(`*occur_at:* <!date^${payload.occur_at}^{date} at {time}|February 18th, 2014 at 6:39 AM PST>`),
      section(`*operator:* ${payload.operator}`),
      section("*event_data:*"),
      section("```" + eventData + "```"),
    ],
  };
  return { contentType: "application/json", body: JSON.stringify(message) };
}
