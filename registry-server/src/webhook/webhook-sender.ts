// One webhook POST, as Harbor's webhook and slack jobs send it
// (src/jobservice/job/impl/notification/{webhook_job,slack_job,http_helper}.go): the payload with
// its Content-Type and, for http targets, `Authorization: <auth_header>`; the certificate checked
// unless the target says skip_cert_verify; no redirect followed (a 3xx is a failure); a deadline
// for the whole exchange (Harbor's 3 s by default); success is any 2xx. Connections go through the
// registry's egress settings (upstream/http-transport.ts): the proxy for the target's URL, unless
// `noProxy` names it.

import { discard, HttpTransport, readBody } from "../upstream/http-transport.ts";
import type { EgressSettings } from "../upstream/upstream-registry.ts";

/** Harbor's JOBSERVICE_WEBHOOK_JOB_HTTP_CLIENT_TIMEOUT default. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 3_000;
/** What of a failing receiver's answer goes into the error (and the task log). */
const ERROR_BODY_BYTES = 1024;

export interface WebhookRequest {
  readonly address: string;
  readonly contentType: string;
  /** Sent as `Authorization` when not empty. */
  readonly authHeader: string;
  readonly body: string;
  readonly skipCertVerify: boolean;
}

export interface WebhookAnswer {
  readonly status: number;
  /** The first bytes of the receiver's answer. */
  readonly body: string;
}

export class WebhookSender {
  private readonly timeoutMs: number;
  private readonly verified: HttpTransport;
  private readonly unverified: HttpTransport;

  constructor(options: { egress: EgressSettings; timeoutMs?: number }) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    const egress = { ...options.egress, timeoutMs: this.timeoutMs };
    this.verified = new HttpTransport({ egress, insecure: false });
    this.unverified = new HttpTransport({ egress, insecure: true });
  }

  /** POSTs the payload; throws on a transport failure or the deadline, answers any status otherwise. */
  async send(request: WebhookRequest, signal: AbortSignal): Promise<WebhookAnswer> {
    const transport = request.skipCertVerify ? this.unverified : this.verified;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
    const response = await transport.send(new URL(request.address), {
      method: "POST",
      headers: {
        "content-type": request.contentType,
        ...(request.authHeader !== "" && { authorization: request.authHeader }),
      },
      body: request.body,
      signal: deadline,
    });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await discard(response);
      return { status: response.statusCode, body: "" };
    }
    const body = await readBody(response.body, 64 * ERROR_BODY_BYTES).catch(() => "too-large" as const);
    return {
      status: response.statusCode,
      body: body === "too-large" ? "" : body.toString("utf8").slice(0, ERROR_BODY_BYTES),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.verified.close(), this.unverified.close()]);
  }
}
