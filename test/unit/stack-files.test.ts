// Every stack file of the project must hold a configuration the program accepts.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/stack-config";

const ROOT = path.resolve(__dirname, "..", "..");
const STACK_FILES = readdirSync(ROOT).filter(
  (file) => /^Pulumi\.(?!e2e-)[\w-]+\.yaml$/.test(file) && file !== "Pulumi.yaml",
);

describe("stack files", () => {
  it("include the embedded default and the DMZ stacks", () => {
    expect(STACK_FILES).toEqual(expect.arrayContaining(["Pulumi.local.yaml", "Pulumi.dmz.yaml"]));
  });

  for (const file of STACK_FILES) {
    it(`${file} is valid against the configuration schema`, () => {
      const document = parse(readFileSync(path.join(ROOT, file), "utf8")) as { config?: Record<string, unknown> };
      // Pulumi hands structured values to the program as JSON text, scalars as text.
      const entries = Object.fromEntries(
        Object.entries(document.config ?? {}).map(([key, value]) => [
          key,
          typeof value === "string" ? value : JSON.stringify(value),
        ]),
      );
      expect(() => parseStackConfig(entries)).not.toThrow();
    });
  }

  it("declare the DMZ guide's production project with a pull-only robot for the nodes and a push robot for CI", () => {
    const document = parse(readFileSync(path.join(ROOT, "Pulumi.dmz.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const { config } = parseStackConfig({ "airlock:projects": JSON.stringify(document.config["airlock:projects"]) });
    const production = config.projects.find((p) => p.name === "production");
    expect(production?.public).toBe(false);
    expect(production?.robots.map((r) => `${r.name}:${r.actions.join("+")}`).sort()).toEqual([
      "ci:pull+push",
      "cluster-nodes:pull",
    ]);
  });
});
