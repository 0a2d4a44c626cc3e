// One test run for the whole repository. End-to-end files drive the real Pulumi engine and real
// processes, so they get generous time limits; everything is bounded all the same.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "registry-server/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The end-to-end stacks share the machine's ports and CPU: run files one after another.
    fileParallelism: false,
    reporters: ["default", "junit"],
    outputFile: { junit: "test-results/junit.xml" },
  },
});
