// YAML parsing, its package loaded on first use: it is ~70 modules, and a worker process, which
// gets its configuration already parsed from its primary, would keep ~1.3 MiB of them for the
// rare Helm chart whose values it is asked for (bench/profiles/README.md, "Memory").

import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let yaml: typeof Yaml | undefined;

/** `yaml`'s `parse`: the document's value; throws the package's error on bad input. */
export function parseYaml(text: string): unknown {
  yaml ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return yaml.parse(text);
}
