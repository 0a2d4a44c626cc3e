// Webhook deliveries as jobs of the job system (Harbor's WEBHOOK and SLACK executions): one
// execution per policy and event (per kind of target), queued by webhook-dispatcher.ts with the
// payloads already written, one task per target. Each run POSTs to the targets not yet served
// (webhook-sender.ts) and records in the task's log the attempt, the status code and how long it
// took. A target that failed makes the run throw RetryableJobError: the job system puts the
// execution back in the queue after a pause that doubles with each attempt (5 s, 10 s by default)
// and gives up after its third attempt (Harbor's MaxFails of 3), ending the execution Error; the
// task of a target served stays Success and is not sent again. The worker is free during the
// pauses, and a receiver that hangs holds it for the deadline only.
//
// The auth header is not in the execution's parameters (they are shown by the job service
// monitor): each run reads it from the policy, sealed at rest. It is never logged.

import { RetryableJobError, type JobContext, type JobHandler, type TaskContext } from "../jobs/job-service.ts";
import type { ExecutionRecord } from "../metadata/job-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { WebhookPolicyRecord } from "../metadata/webhook-store.ts";
import { SLACK_VENDOR, WEBHOOK_VENDOR, type WebhookPolicies } from "./webhook-policies.ts";
import type { WebhookSender } from "./webhook-sender.ts";

/** One target of a delivery, its payload written when the event was dispatched. */
export interface DeliveryTarget {
  readonly type: "http" | "slack";
  readonly address: string;
  readonly skip_cert_verify: boolean;
  readonly payload_format: string;
  readonly content_type: string;
  readonly payload: string;
}

/** A delivery execution's parameters. */
export interface DeliveryParameters {
  readonly event_type: string;
  readonly project_id: number;
  readonly policy_id: number;
  readonly targets: readonly DeliveryTarget[];
}

/** Deliveries kept per policy and kind (Harbor's execution sweeper keeps 50 of each). */
const KEEP_EXECUTIONS = 50;

/** A delivery's parameters, when the execution is one. */
export function deliveryParameters(execution: ExecutionRecord): DeliveryParameters | undefined {
  const p = execution.parameters as Partial<DeliveryParameters>;
  return typeof p.event_type === "string" && Array.isArray(p.targets) ? (p as DeliveryParameters) : undefined;
}

export interface WebhookJobDeps {
  readonly store: Pick<MetadataStore, "webhookPolicies">;
  readonly policies: Pick<WebhookPolicies, "authHeader">;
  readonly sender: Pick<WebhookSender, "send">;
  readonly now?: () => number;
}

/** The handlers of both kinds of delivery. */
export function webhookJobs(deps: WebhookJobDeps): JobHandler[] {
  return [WEBHOOK_VENDOR, SLACK_VENDOR].map((vendorType) => ({
    vendorType,
    keepExecutions: KEEP_EXECUTIONS,
    run: (context: JobContext) => runDelivery(deps, context),
  }));
}

async function runDelivery(deps: WebhookJobDeps, context: JobContext): Promise<Record<string, unknown>> {
  const parameters = deliveryParameters(context.execution);
  if (!parameters) throw new Error("not a webhook delivery: its parameters have no event type or targets");
  const policy = await deps.store.webhookPolicies.get(parameters.policy_id);
  if (!policy) {
    context.log(`[INFO] webhook policy ${parameters.policy_id} no longer exists: nothing sent`);
    return { delivered: 0 };
  }
  let tasks = await context.tasks();
  if (tasks.length === 0) {
    tasks = await context.addTasks(
      parameters.targets.map((target, index) => ({
        name: target.address,
        extraAttrs: { event_type: parameters.event_type, payload: target.payload, target: index },
      })),
    );
  }
  let delivered = 0;
  let failed = 0;
  for (const task of tasks) {
    if (task.status === "Success") {
      delivered++;
      continue;
    }
    const target = parameters.targets[Number(task.extraAttrs["target"])];
    if (!target) continue;
    const ended = await context.runTask(task, (taskContext) =>
      deliver(deps, context.execution, policy, target, taskContext),
    );
    if (ended.status === "Success") delivered++;
    else if (ended.status === "Error") failed++;
  }
  if (failed > 0 && !context.signal.aborted) {
    throw new RetryableJobError(`${failed} of ${tasks.length} webhook targets failed`);
  }
  return { delivered };
}

/** The policy's auth header for `target` now (the target matched by kind and address). */
function authHeaderFor(deps: WebhookJobDeps, policy: WebhookPolicyRecord, target: DeliveryTarget): string {
  if (target.type !== "http") return "";
  const stored = policy.targets.find((t) => t.type === target.type && t.address === target.address);
  return stored ? deps.policies.authHeader(stored) : "";
}

async function deliver(
  deps: WebhookJobDeps,
  execution: ExecutionRecord,
  policy: WebhookPolicyRecord,
  target: DeliveryTarget,
  task: TaskContext,
): Promise<Record<string, unknown>> {
  const now = deps.now ?? Date.now;
  const started = now();
  task.log(
    `[INFO] attempt ${execution.attempts}: POST ${target.address} (${target.content_type}, ${Buffer.byteLength(target.payload)} bytes)`,
  );
  let answer;
  try {
    answer = await deps.sender.send(
      {
        address: target.address,
        contentType: target.content_type,
        authHeader: authHeaderFor(deps, policy, target),
        body: target.payload,
        skipCertVerify: target.skip_cert_verify,
      },
      task.signal,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`error to send request: ${reason} (after ${now() - started} ms)`, { cause: error });
  }
  const took = now() - started;
  if (answer.status < 200 || answer.status >= 300) {
    // webhook_job.go's words.
    throw new Error(`abnormal response code: ${answer.status}, body: ${answer.body} (after ${took} ms)`);
  }
  task.log(`[INFO] attempt ${execution.attempts}: ${answer.status} after ${took} ms`);
  return { status_code: answer.status };
}
