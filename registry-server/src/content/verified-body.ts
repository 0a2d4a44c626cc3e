// Bytes checked against what their sender declared while they stream to storage: the body fails,
// before its end reaches the storage driver, when it holds more than the declared length, ends at
// another length, or has another digest. Because a driver only commits an object whose body ended
// without error, a failed check leaves nothing behind.
//
// A generator that the driver iterates, not a Transform stream piped in between: at registry
// speeds a Transform and its pipe (two buffers, events and backpressure bookkeeping per chunk)
// cost more CPU than hashing the bytes (profiles in bench/profiles/). Ending the iteration early,
// or failing a check, destroys the source (a request's socket with it, as a pipeline would).

import type { Hash } from "node:crypto";
import { RegistryError } from "../http/errors.ts";
import { chunksHandedOver, handOverChunks } from "../storage/handed-over-chunks.ts";

export interface BodyExpectations {
  /**
   * Updated with every byte; the caller owns it (pass a copy to keep a session's state safe).
   * Without one the bytes are only counted (an upload chunk whose session hash is elsewhere).
   */
  hash?: Hash;
  /** Exact number of bytes expected (from Content-Length), when known. */
  expectedBytes?: number;
  /** Digest the whole hashed content must have at the end, as "<algorithm>:<hex>"; needs `hash`. */
  expectedDigest?: string;
  /** Algorithm prefix used to format the computed digest. */
  algorithm: string;
  /** Watches the bytes as they pass (a client served while they are stored). */
  observer?: BodyObserver;
}

/**
 * Sees each chunk once it is hashed, and hears when the whole body checked out: the proxy cache
 * relays an upstream's bytes to a client this way without hashing them a second time.
 */
export interface BodyObserver {
  /**
   * A chunk on its way to storage; the body waits for a returned promise (backpressure). When
   * `handedOver`, the storage driver frees the chunk once stored: an observer that keeps it
   * longer holds it first (`holdChunk`, before returning) and releases it when done.
   */
  bytes(chunk: Uint8Array, handedOver: boolean): void | Promise<void>;
  /** The body ended with the declared length and digest; storage has not committed it yet. */
  verified(): void;
}

/**
 * Yields `body`'s bytes, hashing and counting them, and throws when they break `expected`. The
 * bytes stay handed over to the consumer when `body`'s were (an observer is told so).
 */
export function verifiedBody(
  body: AsyncIterable<unknown>,
  expected: BodyExpectations,
): AsyncGenerator<Uint8Array, void, undefined> {
  const handedOver = chunksHandedOver(body);
  const verified = verify(body, expected, handedOver);
  return handedOver ? handOverChunks(verified) : verified;
}

async function* verify(
  body: AsyncIterable<unknown>,
  expected: BodyExpectations,
  handedOver: boolean,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { hash, expectedBytes, expectedDigest, algorithm, observer } = expected;
  if (expectedDigest !== undefined && !hash) throw new Error("an expected digest needs a hash to check it with");
  let bytes = 0;
  // A Readable destroyed before its end makes this loop throw (premature close), never end.
  for await (const chunk of body) {
    const data = asBytes(chunk);
    bytes += data.length;
    if (expectedBytes !== undefined && bytes > expectedBytes) {
      throw new RegistryError("SIZE_INVALID", `body is larger than its declared length of ${expectedBytes} bytes`);
    }
    hash?.update(data);
    const waiting = observer?.bytes(data, handedOver);
    if (waiting) await waiting;
    yield data;
  }
  if (expectedBytes !== undefined && bytes !== expectedBytes) {
    throw new RegistryError("SIZE_INVALID", `received ${bytes} bytes but the declared length is ${expectedBytes}`);
  }
  if (expectedDigest !== undefined && hash) {
    const actual = `${algorithm}:${hash.copy().digest("hex")}`;
    if (actual !== expectedDigest) {
      throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
        detail: { expected: expectedDigest, actual },
      });
    }
  }
  observer?.verified();
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new TypeError("body stream must yield bytes");
}
