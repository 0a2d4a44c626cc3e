// Where the registry's bytes live in the storage driver:
//
//   blobs/parts/<aa>/<uuid>    one object per uploaded chunk (or whole monolithic upload); a
//                              blob is the ordered list of its parts, kept by the metadata store.
//                              <aa> is the uuid's first two hex digits, to keep directories small.
//
// Parts are never renamed or appended to, so an object store can hold them as they are.

import { randomUUID } from "node:crypto";

/** Where every part lives: what garbage collection lists to find orphans. */
export const PARTS_PREFIX = "blobs/parts";

export function newPartPath(): string {
  const id = randomUUID();
  return `${PARTS_PREFIX}/${id.slice(0, 2)}/${id}`;
}
