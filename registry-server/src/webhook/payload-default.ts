// Harbor's Default payload format (src/pkg/notifier/formats/default.go): the payload itself as
// JSON, `Content-Type: application/json`.

import type { HarborPayload } from "./event-payload.ts";
import type { FormattedPayload } from "./payload-format.ts";

export function formatDefault(payload: HarborPayload): FormattedPayload {
  return { contentType: "application/json", body: JSON.stringify(payload) };
}
