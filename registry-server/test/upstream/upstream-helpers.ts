// Shared by the upstream adapter tests: reading a streamed body and asserting a failure's kind.

import type { Readable } from "node:stream";
import { expect } from "vitest";
import { UpstreamError, type UpstreamFailure } from "../../src/upstream/upstream-registry.ts";

export async function readAll(body: Readable | undefined): Promise<Buffer> {
  if (!body) throw new Error("no body");
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Awaits `promise`, expecting an UpstreamError of `kind`; returns it for further checks. */
export async function expectUpstreamError(promise: Promise<unknown>, kind: UpstreamFailure): Promise<UpstreamError> {
  const error: unknown = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  expect((error as UpstreamError).kind, (error as Error).message).toBe(kind);
  return error as UpstreamError;
}
