// A stream cut into pieces of a fixed size, each a stream of its own, whatever the sizes of the
// chunks it arrives in.

import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { streamChunks } from "../../src/replication/stream-chunks.ts";

async function pieces(input: Buffer[], size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const piece of streamChunks(Readable.from(input), size)) {
    const parts: Buffer[] = [];
    for await (const bytes of piece) parts.push(bytes);
    out.push(Buffer.concat(parts).toString());
  }
  return out;
}

describe("stream chunks", () => {
  it("cuts across and within the chunks that arrive", async () => {
    const input = ["abc", "defgh", "", "ij", "klmnopq"].map((s) => Buffer.from(s));
    expect(await pieces(input, 4)).toEqual(["abcd", "efgh", "ijkl", "mnop", "q"]);
    expect(await pieces(input, 17)).toEqual(["abcdefghijklmnopq"]);
    expect(await pieces(input, 100)).toEqual(["abcdefghijklmnopq"]);
  });

  it("yields nothing for an empty stream", async () => {
    expect(await pieces([], 4)).toEqual([]);
    expect(await pieces([Buffer.alloc(0)], 4)).toEqual([]);
  });
});
