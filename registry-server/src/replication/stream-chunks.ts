// A stream cut into consecutive pieces of at most `size` bytes, each piece itself a stream: what
// sending a blob in chunks (PATCH after PATCH) needs without holding a chunk, let alone the blob,
// in memory. A piece must be consumed to its end before the next is asked for.

/** Yields the pieces of `body` in order; the last one may be shorter. */
export async function* streamChunks(
  body: AsyncIterable<unknown>,
  size: number,
): AsyncGenerator<AsyncGenerator<Buffer, void, undefined>, void, undefined> {
  if (!(size > 0)) throw new RangeError(`a chunk size must be positive, not ${size}`);
  const source = body[Symbol.asyncIterator]();
  let pending: Buffer | undefined;
  let ended = false;
  /** Pulls the next bytes, the remainder of the last read first. */
  const next = async (): Promise<Buffer | undefined> => {
    if (pending) {
      const held = pending;
      pending = undefined;
      return held;
    }
    if (ended) return undefined;
    for (;;) {
      const read = await source.next();
      if (read.done) {
        ended = true;
        return undefined;
      }
      const bytes = toBuffer(read.value);
      if (bytes.length > 0) return bytes;
    }
  };
  async function* piece(): AsyncGenerator<Buffer, void, undefined> {
    let left = size;
    while (left > 0) {
      const bytes = await next();
      if (!bytes) return;
      if (bytes.length > left) {
        pending = bytes.subarray(left);
        yield bytes.subarray(0, left);
        return;
      }
      left -= bytes.length;
      yield bytes;
    }
  }
  try {
    for (;;) {
      const first = await next();
      if (!first) return;
      pending = first;
      yield piece();
    }
  } finally {
    if (!ended) await source.return?.();
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return Buffer.from(value);
  throw new TypeError("a blob stream must yield bytes");
}
