// What the resource-graph tests share under Pulumi's mocks: the resources registered, read as
// plain values (secret envelopes opened), and waiting for a graph to finish registering.

import type * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** How the mocks see a secret input: Pulumi's secret envelope around the value. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A value as the mocks see it, secret envelopes opened. */
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] !== undefined && "value" in record) return plain(record["value"]);
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

export function outputOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Waits until no more resources register (their count stops growing for 25 ms). */
export async function settled(registered: readonly Registered[]): Promise<void> {
  let seen = -1;
  while (seen !== registered.length) {
    seen = registered.length;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
