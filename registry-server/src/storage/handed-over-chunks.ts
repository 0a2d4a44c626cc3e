// Bodies whose chunks are handed over to the writer: nothing else holds them, so a storage driver
// may free each chunk's memory as soon as it has copied it, instead of leaving it to the garbage
// collector.
//
// Why: a request body arrives as 64 KiB Buffers, each with memory of its own outside V8's heap.
// V8 frees that memory only when it collects the Buffer objects, and once a few dozen MiB of it
// are waiting it starts a full collection; a 256 MiB push set off about sixteen, and V8's helper
// threads spent 0.9-1.1 s of CPU per GiB pushed on them. Detaching each chunk's ArrayBuffer
// once stored gives the memory back at once: 0.08 s per GiB, and the event loop 0.6 s less
// (bench/profiles/README.md).
//
// Who may hand over: the code that created the body and lets it go whole: the `/v2` upload routes
// for the request's own body, the proxy cache for an upstream's. Who may release: the driver,
// once it no longer reads the chunk. A wrapper that passes the chunks on unchanged
// (verifiedBody) keeps the mark. Someone else who keeps a chunk past the driver (the proxy
// cache's relay, writing it to a client's socket) holds it (`holdChunk`) and releases it too once
// done: the memory is freed by the last release. Without that, a proxy miss's chunks waited for
// the collector, which freed them in no particular order, and a worker's malloc heap kept 21-45
// MiB after the load (bench/RESULTS.md, "2026-12-07, third").

const handedOver = new WeakSet<object>();
/** Holders of a chunk besides the driver, who each release it once (absent: none). */
const otherHolders = new WeakMap<Uint8Array, number>();

/** Marks `body` as handing its chunks over to whoever consumes it; returns it. */
export function handOverChunks<Body extends AsyncIterable<unknown>>(body: Body): Body {
  handedOver.add(body);
  return body;
}

/** Whether `body`'s chunks were handed over (see `handOverChunks`). */
export function chunksHandedOver(body: AsyncIterable<unknown>): boolean {
  return handedOver.has(body);
}

/**
 * Keeps a chunk of a handed-over body past the driver's release: whoever calls this must call
 * `releaseChunk` once for it too, when done (the last release frees it).
 */
export function holdChunk(chunk: Uint8Array): void {
  otherHolders.set(chunk, (otherHolders.get(chunk) ?? 0) + 1);
}

/**
 * Frees a handed-over chunk's memory now, or, while others hold it (`holdChunk`), counts this
 * holder out. Only a chunk that is the whole of its memory is freed: a view into a shared or
 * pooled buffer (Node's 8 KiB pool for small Buffers) is left alone, as is memory that cannot be
 * detached. The chunk reads as empty afterwards.
 */
export function releaseChunk(chunk: Uint8Array): void {
  const others = otherHolders.get(chunk);
  if (others !== undefined) {
    if (others > 1) otherHolders.set(chunk, others - 1);
    else otherHolders.delete(chunk);
    return;
  }
  const memory = chunk.buffer;
  if (!(memory instanceof ArrayBuffer) || memory.detached) return;
  if (chunk.byteOffset !== 0 || chunk.byteLength !== memory.byteLength) return;
  try {
    memory.transfer(0);
  } catch {
    // Not detachable (WebAssembly memory, for one): the garbage collector frees it in time.
  }
}
