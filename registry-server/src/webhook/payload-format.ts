// What a payload format hands the delivery: the body and the Content-Type it is sent with
// (Harbor's formatters return a header and a body, src/pkg/notifier/formats/formatter.go).

export interface FormattedPayload {
  readonly contentType: string;
  readonly body: string;
}

/** Harbor's payload formats for http targets, in its order; slack has one of its own. */
export const PAYLOAD_FORMATS = ["Default", "CloudEvents"] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];
