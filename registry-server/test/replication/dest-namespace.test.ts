// Destination names as Harbor's replaceNamespace makes them: its own test cases
// (src/controller/replication/flow/stage_test.go, TestReplaceNamespace) and the examples of its
// comment, then the path-component limits of the destination registry.

import { describe, expect, it } from "vitest";
import { DestinationNameError, destinationRepository } from "../../src/replication/dest-namespace.ts";

describe("destination repository names", () => {
  it.each([
    // Harbor's TestReplaceNamespace, in its order.
    ["c", "", 0, "c"],
    ["c", "n", -1, "n/c"],
    ["b/c", "n", -1, "n/c"],
    ["a/b/c", "n", -1, "n/c"],
    ["a/b/c", "n", 0, "n/a/b/c"],
    ["a/b/c", "n", 1, "n/b/c"],
    ["a/b/c", "n", 2, "n/c"],
    ["a", "n", 0, "n/a"],
    // The examples of replaceNamespace's comment.
    ["a/b/c/image", "n", -1, "n/image"],
    ["a/b/c/image", "n", 0, "n/a/b/c/image"],
    ["a/b/c/image", "n", 1, "n/b/c/image"],
    ["a/b/c/image", "n", 2, "n/c/image"],
    ["a/b/c/image", "n", 3, "n/image"],
    // A namespace of several components, cleaned as path.Join cleans.
    ["library/nginx", "mirror/dockerhub", 1, "mirror/dockerhub/nginx"],
    ["library/nginx", "mirror/", 0, "mirror/library/nginx"],
  ])("%s with namespace %j and replace count %i is %s", (repository, namespace, count, expected) => {
    expect(destinationRepository(repository, namespace, count)).toBe(expected);
  });

  it("refuses a replace count beyond the components before the name", () => {
    // Harbor's case: "a/b" with count 2.
    expect(() => destinationRepository("a/b", "n", 2)).toThrow(DestinationNameError);
    expect(() => destinationRepository("a/b/c/image", "n", 4)).toThrow(
      /contains only 3 path components \[a b c\] excepting the last one, but the destination namespace flattening level is 4/,
    );
  });

  it("checks what the destination registry takes", () => {
    // Harbor's case: three components where the destination takes only two.
    expect(() => destinationRepository("a/b/c", "n", 1, "only-two")).toThrow(/only supports 2/);
    expect(destinationRepository("a/b/c", "n", 2, "only-two")).toBe("n/c");
    expect(() => destinationRepository("c", "", 0, "at-least-two")).not.toThrow();
    expect(destinationRepository("a/b/c", "n", 0, "at-least-two")).toBe("n/a/b/c");
  });
});
