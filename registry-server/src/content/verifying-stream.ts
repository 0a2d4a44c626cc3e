// A pass-through stream that hashes and counts what flows through it and fails the stream, before
// its end reaches the storage driver, when the bytes are not what the client declared: more than
// the declared length, a different final length, or a different digest. Because the driver only
// commits an object whose stream ended without error, a failed check leaves nothing behind.

import type { Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { RegistryError } from "../http/errors.ts";

export interface VerifyingStreamOptions {
  /** Updated with every byte; the caller owns it (pass a copy to keep a session's state safe). */
  hash: Hash;
  /** Exact number of bytes expected (from Content-Length), when known. */
  expectedBytes?: number;
  /** Digest the whole hashed content must have at the end, as "<algorithm>:<hex>". */
  expectedDigest?: string;
  /** Algorithm prefix used to format the computed digest. */
  algorithm: string;
}

export class VerifyingStream extends Transform {
  bytes = 0;
  private readonly options: VerifyingStreamOptions;

  constructor(options: VerifyingStreamOptions) {
    super();
    this.options = options;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { expectedBytes } = this.options;
    if (expectedBytes !== undefined && this.bytes > expectedBytes) {
      callback(new RegistryError("SIZE_INVALID", `body is larger than its declared length of ${expectedBytes} bytes`));
      return;
    }
    this.options.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { expectedBytes, expectedDigest, algorithm } = this.options;
    if (expectedBytes !== undefined && this.bytes !== expectedBytes) {
      callback(
        new RegistryError("SIZE_INVALID", `received ${this.bytes} bytes but the declared length is ${expectedBytes}`),
      );
      return;
    }
    if (expectedDigest !== undefined) {
      const actual = `${algorithm}:${this.options.hash.copy().digest("hex")}`;
      if (actual !== expectedDigest) {
        callback(
          new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", {
            detail: { expected: expectedDigest, actual },
          }),
        );
        return;
      }
    }
    callback();
  }
}
