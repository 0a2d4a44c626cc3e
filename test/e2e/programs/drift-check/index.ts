// The program of the drift-check end-to-end test: one dynamic resource whose live state is the
// content of a file. `pulumi up` writes the file; editing it by hand is drift, which `pulumi
// refresh` reads back (the provider's `read`), as it reads a registry's settings changed by hand.
// Dynamic provider rules apply (components/README.md): Node's modules are required inside methods.

import * as pulumi from "@pulumi/pulumi";

interface FileInputs {
  path: string;
  content: string;
}

/* eslint-disable @typescript-eslint/no-require-imports -- loaded at run time by the provider */
const fileProvider: pulumi.dynamic.ResourceProvider<FileInputs, FileInputs> = {
  async create(inputs) {
    (require("node:fs") as typeof import("node:fs")).writeFileSync(inputs.path, inputs.content);
    return { id: inputs.path, outs: inputs };
  },
  async read(id, props) {
    const content = (require("node:fs") as typeof import("node:fs")).readFileSync(id, "utf8");
    return { id, props: { path: id, content }, ...(props && { inputs: { path: id, content } }) };
  },
  async diff(_id, olds, news) {
    return { changes: olds.content !== news.content, replaces: olds.path !== news.path ? ["path"] : [] };
  },
  async update(_id, _olds, news) {
    (require("node:fs") as typeof import("node:fs")).writeFileSync(news.path, news.content);
    return { outs: news };
  },
  async delete(id) {
    (require("node:fs") as typeof import("node:fs")).rmSync(id, { force: true });
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

class ManagedFile extends pulumi.dynamic.Resource {
  constructor(name: string, args: FileInputs) {
    super(fileProvider, name, args, {}, "e2e", "ManagedFile");
  }
}

const config = new pulumi.Config("airlock");
new ManagedFile("settings", { path: config.require("file"), content: "retention: 7d\n" });
