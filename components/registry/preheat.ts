// Images kept present in a proxy-cache project: `create` and `update` run a preheat job through
// the registry's API and wait for it, failing with the images that could not be fetched; `read`
// checks that every image still has its tag in the project, so `pulumi refresh` shows an image
// that was deleted or expired as drift and the next `up` fetches it again. Deleting the resource
// leaves the cache as it is.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { containsUnknown, isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, expectStatus, readInputs, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

export interface PreheatArgs {
  /** The registry to manage (from the deployment's outputs); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The proxy-cache project to fill. */
  project: pulumi.Input<string>;
  /** Upstream names with a tag or digest: `library/nginx:1.25`, `prometheus/prometheus@sha256:…`. */
  images: pulumi.Input<pulumi.Input<string>[]>;
  /** Platforms of multi-platform images to fetch, as `os/arch[/variant]`; all when empty. */
  platforms?: pulumi.Input<pulumi.Input<string>[]>;
  /** How long to wait for the job. Default 1800 seconds. */
  timeoutSeconds?: pulumi.Input<number>;
}

interface PreheatInputs {
  connection: RegistryConnection;
  project: string;
  images: string[];
  platforms: string[];
  timeoutSeconds: number;
}

interface PreheatOutputs extends PreheatInputs {
  /** The digest each image resolved to at the last preheat. */
  digests: Record<string, string>;
}

interface JobReply {
  status: string;
  images: Array<{ image: string; status: string; digest?: string; error?: string }>;
}

const IMAGE =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127}|@sha(?:256|512):[0-9a-f]+)?$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/**
 * Validates the known inputs; unknown values (the connection in a preview, see ../unknowns.ts)
 * are passed on as they are and checked once known. Lists are sorted and their repeats dropped
 * only when every item is known: two unknown items may be two different images.
 */
export function checkPreheat(news: Record<string, unknown>): pulumi.dynamic.CheckResult<PreheatInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string): void => void failures.push({ property, reason });
  const list = (key: "images" | "platforms", pattern: (item: string) => boolean, expected: string): string[] => {
    const given = news[key] ?? [];
    if (isUnknown(given)) return given as string[];
    if (!Array.isArray(given)) {
      fail(key, `expected a list of strings, got ${JSON.stringify(given)}`);
      return [];
    }
    for (const item of given) {
      if (!isUnknown(item) && (typeof item !== "string" || !pattern(item)))
        fail(key, `expected ${expected}, got ${JSON.stringify(item)}`);
    }
    // Order and repeats do not matter to the cache: sorted, so that they never show as a diff.
    return containsUnknown(given) ? (given as string[]) : [...new Set(given.map(String))].sort();
  };
  const images = list(
    "images",
    (image) => IMAGE.test(image) && !image.split("/")[0]?.includes("."),
    "an upstream name like library/nginx:1.25 (no registry host)",
  );
  if (Array.isArray(news["images"] ?? []) && images.length === 0) fail("images", "expected at least one image");
  const platforms = list("platforms", (platform) => PLATFORM.test(platform), "os/architecture");
  const project = news["project"];
  if (!isUnknown(project) && (typeof project !== "string" || project === ""))
    fail("project", `expected a project name, got ${JSON.stringify(project)}`);
  const timeout = news["timeoutSeconds"] ?? 1800;
  if (!isUnknown(timeout) && (typeof timeout !== "number" || !(timeout > 0))) {
    fail("timeoutSeconds", `expected a positive number of seconds, got ${JSON.stringify(timeout)}`);
  }
  const inputs: PreheatInputs = {
    connection: news["connection"] as RegistryConnection,
    project: keepUnknown(project, String),
    images,
    platforms,
    timeoutSeconds: timeout as number,
  };
  return { inputs, failures };
}

/** Runs a preheat job and waits for it; throws with every image that failed. */
async function preheat(inputs: PreheatInputs): Promise<Record<string, string>> {
  const project = encodeURIComponent(inputs.project);
  const started = expectStatus(
    await apiRequest(inputs.connection, "POST", `/projects/${project}/preheat`, {
      images: inputs.images,
      platforms: inputs.platforms,
    }),
    `preheating ${inputs.project}`,
    201,
  );
  const location = String(started.headers["location"] ?? "").replace(/^\/api\/v2\.0/, "");
  const deadline = Date.now() + inputs.timeoutSeconds * 1000;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    const reply = expectStatus(await apiRequest(inputs.connection, "GET", location), "reading the preheat job", 200);
    const job = reply.body as JobReply;
    if (job.status !== "running") {
      const failed = job.images.filter((i) => i.status === "failed");
      if (failed.length > 0) {
        const list = failed.map((i) => `  ${i.image}: ${i.error ?? "failed"}`).join("\n");
        throw new Error(`preheating ${inputs.project}: ${failed.length} image(s) could not be fetched:\n${list}`);
      }
      return Object.fromEntries(job.images.map((i) => [i.image, i.digest ?? ""]));
    }
    if (Date.now() > deadline)
      throw new Error(`preheating ${inputs.project}: still running after ${inputs.timeoutSeconds}s`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Whether the project holds the image's tag (or digest), asked without touching the upstream. */
async function isPresent(connection: RegistryConnection, project: string, image: string): Promise<boolean> {
  const at = image.indexOf("@");
  const colon = image.lastIndexOf(":");
  const tagged = at < 0 && colon > image.lastIndexOf("/");
  const name = at >= 0 ? image.slice(0, at) : tagged ? image.slice(0, colon) : image;
  const reference = at >= 0 ? image.slice(at + 1) : tagged ? image.slice(colon + 1) : "latest";
  // Harbor's repository names in paths are URL-encoded twice.
  const repository = encodeURIComponent(encodeURIComponent(name));
  const base = `/projects/${encodeURIComponent(project)}/repositories/${repository}/artifacts?page_size=100`;
  for (let page = 1; page <= 100; page++) {
    const reply = await apiRequest(connection, "GET", `${base}&page=${page}`);
    if (reply.status === 404) return false;
    expectStatus(reply, `reading ${project}/${name}`, 200);
    const artifacts = reply.body as Array<{ digest: string; tags?: Array<{ name: string }> | null }>;
    const found = artifacts.some((a) =>
      at >= 0 ? a.digest === reference : (a.tags ?? []).some((t) => t.name === reference),
    );
    if (found) return true;
    if (artifacts.length < 100) return false;
  }
  return false;
}

export const preheatProvider: pulumi.dynamic.ResourceProvider<PreheatInputs, PreheatOutputs> = {
  async check(_olds, news) {
    return checkPreheat(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = olds.project !== news.project ? ["project"] : [];
    const changed =
      replaces.length > 0 ||
      JSON.stringify(olds.images) !== JSON.stringify(news.images) ||
      JSON.stringify(olds.platforms) !== JSON.stringify(news.platforms) ||
      olds.timeoutSeconds !== news.timeoutSeconds ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes: changed, replaces };
  },

  async create(inputs) {
    const digests = await preheat(inputs);
    return { id: `${inputs.project}/preheat`, outs: { ...inputs, digests } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const present: string[] = [];
    for (const image of props.images) {
      if (await isPresent(props.connection, props.project, image)) present.push(image);
    }
    // Missing images drop out of the inputs: refresh shows them as drift, up fetches them again.
    const inputs: PreheatInputs = { ...props, images: present };
    return { id, props: { ...props, images: present }, inputs: readInputs<PreheatOutputs>(inputs) };
  },

  async update(_id, _olds, news) {
    return { outs: { ...news, digests: await preheat(news) } };
  },

  async delete() {
    // The cache keeps what was fetched; retention decides when it goes.
  },
};

/** The provider, recording which stack declared the Preheat (./declaration.ts). */
const declaredPreheatProvider = declaredProvider("preheat", (outs) => outs.project, preheatProvider);

/** Images a proxy-cache project keeps present, fetched ahead of the first pull. */
export class Preheat extends pulumi.dynamic.Resource {
  /** The digest each image resolved to at the last preheat. */
  declare readonly digests: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: PreheatArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredPreheatProvider,
      name,
      {
        declaration: declaredBy(name, "Preheat", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        digests: undefined,
      },
      opts,
      "registry",
      "Preheat",
    );
  }
}
