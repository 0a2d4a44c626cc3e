// Harbor's artifacts API: list (Harbor's defaults, q, sort, paging), get by tag or digest in the
// swagger `Artifact` shape (ids, type, media types, size, extra_attrs from the config, references
// of an index, tags, accessories, addition links), the additions (build history, chart files),
// and delete by reference: through /v2's domain code (tags go, the quota goes down), refused
// with 412 for an artifact an index needs, as Harbor, with Harbor's permissions and an audit
// entry. Requests are those harbor-cli sends (`artifact list/view/delete`).

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../../src/metadata/identity-store.ts";
import { OCI_INDEX, OCI_MANIFEST, OciClient } from "../distribution/oci-client.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import {
  CHART_README,
  CHART_VALUES,
  HELM_CONFIG,
  OCI_CONFIG,
  pushChart,
  pushCosignSignature,
  pushIndex,
  pushRichImage,
  pushSbom,
  SBOM_TYPE,
  type Pushed,
  type PushedIndex,
} from "./artifact-fixture.ts";
import { expectError, HarborClient, links, projectPermissions, RFC3339, type Credentials } from "./harbor-client.ts";

type Artifact = Record<string, unknown> & {
  id: number;
  digest: string;
  tags: Array<Record<string, unknown>> | null;
  references: Array<Record<string, unknown>> | null;
  accessories: Array<Record<string, unknown>> | null;
};

const ZERO_TIME = "0001-01-01T00:00:00.000Z";
const DEVELOPER = { username: "dev", password: "Dev-pass-123" };
const MAINTAINER = { username: "keeper", password: "Keeper-pass-1" };

describe("artifacts API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  let oci: OciClient;
  let projectId: number;
  let repositoryId: number;
  let image: Pushed;
  let signature: Pushed;
  let sbom: Pushed;
  let index: PushedIndex;
  let chart: Pushed;

  beforeAll(async () => {
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    oci = new OciClient(registry.url);
    projectId = await api.createProject("team", false);
    for (const user of [DEVELOPER, MAINTAINER]) await api.createUser(user.username, user.password);
    await api.addMember("team", DEVELOPER.username, ROLES.developer);
    await api.addMember("team", MAINTAINER.username, ROLES.maintainer);
    image = await pushRichImage(oci, "team/app", "1.0", { annotations: { "org.opencontainers.image.title": "app" } });
    await oci.pushManifest("team/app", "latest", JSON.parse(image.bytes.toString("utf8")), OCI_MANIFEST);
    signature = await pushCosignSignature(oci, "team/app", image.digest);
    sbom = await pushSbom(oci, "team/app", image);
    index = await pushIndex(oci, "team/app", "multi");
    chart = await pushChart(oci, "team/charts/demo", "0.1.0");
    repositoryId = ((await api.get("/projects/team/repositories/app")).json as { id: number }).id;
  });
  afterAll(() => registry.stop());

  async function artifact(
    path: string,
    auth?: Credentials | null,
    headers?: Record<string, string>,
  ): Promise<Artifact> {
    const reply = await api.get(path, auth, headers);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as Artifact;
  }

  async function list(query = "", auth?: Credentials | null): Promise<{ items: Artifact[]; total: string | null }> {
    const reply = await api.get(`/projects/team/repositories/app/artifacts${query}`, auth);
    expect(reply.status, reply.text).toBe(200);
    return { items: reply.json as Artifact[], total: reply.headers.get("x-total-count") };
  }

  it("gets an image by tag in Harbor's shape, the same by digest", async () => {
    const byTag = await artifact("/projects/team/repositories/app/artifacts/1.0");
    expect(byTag).toMatchObject({
      type: "IMAGE",
      media_type: OCI_CONFIG,
      manifest_media_type: OCI_MANIFEST,
      artifact_type: OCI_CONFIG,
      project_id: projectId,
      repository_id: repositoryId,
      repository_name: "team/app",
      digest: image.digest,
      size: image.size,
      pull_time: ZERO_TIME,
      annotations: { "org.opencontainers.image.title": "app" },
      references: null,
      labels: null,
      extra_attrs: {
        architecture: "amd64",
        os: "linux",
        created: "2024-05-06T07:08:09.123456789Z",
        author: "Team <team@example.com>",
        config: { Env: ["PATH=/usr/local/bin:/usr/bin"], Cmd: ["/app"] },
      },
      addition_links: {
        build_history: {
          href: `/api/v2.0/projects/team/repositories/app/artifacts/${image.digest}/additions/build_history`,
          absolute: false,
        },
      },
    });
    expect(Number.isInteger(byTag.id) && byTag.id > 0).toBe(true);
    expect(byTag["push_time"]).toMatch(RFC3339);
    expect(byTag).not.toHaveProperty("scan_overview");
    expect(byTag).not.toHaveProperty("icon");
    expect(byTag.tags?.map((t) => t["name"]).sort()).toEqual(["1.0", "latest"]);
    for (const tag of byTag.tags ?? []) {
      expect(Object.keys(tag).sort()).toEqual([
        "artifact_id",
        "id",
        "immutable",
        "name",
        "pull_time",
        "push_time",
        "repository_id",
      ]);
      expect(tag).toMatchObject({
        artifact_id: byTag.id,
        repository_id: repositoryId,
        immutable: false,
        pull_time: ZERO_TIME,
      });
    }
    const byDigest = await artifact(`/projects/team/repositories/app/artifacts/${image.digest}`);
    expect(byDigest).toEqual(byTag);
    // What harbor-cli may add: Harbor's options and its scan report header, accepted.
    const withOptions = await artifact(
      "/projects/team/repositories/app/artifacts/1.0?with_tag=true&with_label=true&with_scan_overview=true&with_signature=true&with_immutable_status=true&with_accessory=true",
      undefined,
      { "X-Accept-Vulnerabilities": "application/vnd.security.vulnerability.report; version=1.1" },
    );
    expect(withOptions).toEqual(byTag);
  });

  it("shows an image's accessories: the cosign signature tagged after it and its referrers", async () => {
    const got = await artifact(`/projects/team/repositories/app/artifacts/${image.digest}`);
    const signatureId = (await artifact(`/projects/team/repositories/app/artifacts/${signature.digest}`)).id;
    const sbomArtifact = await artifact(`/projects/team/repositories/app/artifacts/${sbom.digest}`);
    expect(sbomArtifact).toMatchObject({ artifact_type: SBOM_TYPE, type: "UNKNOWN" });
    const accessories = [...(got.accessories ?? [])].sort((a, b) => String(a["type"]).localeCompare(String(b["type"])));
    expect(accessories).toEqual([
      {
        id: signatureId,
        artifact_id: signatureId,
        subject_artifact_id: got.id,
        subject_artifact_digest: image.digest,
        subject_artifact_repo: "team/app",
        size: signature.size,
        digest: signature.digest,
        type: "signature.cosign",
        icon: "",
        creation_time: expect.stringMatching(RFC3339) as string,
      },
      {
        id: sbomArtifact.id,
        artifact_id: sbomArtifact.id,
        subject_artifact_id: got.id,
        subject_artifact_digest: image.digest,
        subject_artifact_repo: "team/app",
        size: sbom.size,
        digest: sbom.digest,
        type: "subject.accessory",
        icon: "",
        creation_time: expect.stringMatching(RFC3339) as string,
      },
    ]);
    const without = await artifact("/projects/team/repositories/app/artifacts/1.0?with_accessory=false&with_tag=false");
    expect(without.accessories).toBeNull();
    expect(without.tags).toBeNull();
  });

  it("describes an index with its references to its children, and sums their sizes", async () => {
    const got = await artifact("/projects/team/repositories/app/artifacts/multi");
    const [amd64, arm64] = index.children;
    const childIds = [];
    for (const child of index.children) {
      childIds.push((await artifact(`/projects/team/repositories/app/artifacts/${child.digest}`)).id);
    }
    expect(got).toMatchObject({
      type: "IMAGE",
      media_type: OCI_INDEX,
      manifest_media_type: OCI_INDEX,
      digest: index.digest,
      size: index.size,
      labels: null,
    });
    expect(got).not.toHaveProperty("extra_attrs");
    expect(got).not.toHaveProperty("addition_links");
    expect(got).not.toHaveProperty("artifact_type");
    expect(got.references).toEqual([
      {
        parent_id: got.id,
        child_id: childIds[0],
        child_digest: amd64?.digest,
        platform: { architecture: "amd64", os: "linux", OsFeatures: null },
        urls: null,
      },
      {
        parent_id: got.id,
        child_id: childIds[1],
        child_digest: arm64?.digest,
        platform: { architecture: "arm64", os: "linux", variant: "v8", OsFeatures: null },
        annotations: { "org.example.note": "arm" },
        urls: null,
      },
    ]);
  });

  it("lists what Harbor lists, newest first, with Harbor's defaults and paging", async () => {
    // harbor-cli's `artifact list team/app`: page=1&page_size=10, no with_* options.
    const { items, total } = await list("?page=1&page_size=10");
    expect(total).toBe("2");
    // The index and the image; the index's children, the signature and the SBOM are not listed.
    expect(items.map((a) => a.digest)).toEqual([index.digest, image.digest]);
    expect(items[1]).toEqual(await artifact(`/projects/team/repositories/app/artifacts/${image.digest}`));
    const all = await list(`?q=${encodeURIComponent("base=*")}`);
    expect(all.items.map((a) => a.digest).sort()).toEqual(
      [index.digest, image.digest, ...index.children.map((c) => c.digest)].sort(),
    );
    const page = await api.get("/projects/team/repositories/app/artifacts?page=2&page_size=1");
    expect((page.json as Artifact[]).map((a) => a.digest)).toEqual([image.digest]);
    expect(links(page)).toHaveProperty("prev");
    expect(page.headers.get("x-total-count")).toBe("2");
    expect((await list("?sort=push_time")).items.map((a) => a.digest)).toEqual([image.digest, index.digest]);
  });

  it("filters with Harbor's q: tags, digest, media and artifact types, type, unknown keys ignored", async () => {
    const digests = async (q: string) => (await list(`?q=${encodeURIComponent(q)}`)).items.map((a) => a.digest);
    expect(await digests("tags=*")).toEqual([index.digest, image.digest]);
    expect(await digests("tags=nil")).toEqual([]);
    expect(await digests("tags=~ult")).toEqual([index.digest]);
    expect(await digests(`digest=${image.digest}`)).toEqual([image.digest]);
    expect(await digests(`digest=~${index.digest.slice(10, 20)}`)).toEqual([index.digest]);
    expect(await digests("media_type=~oci.image.config")).toEqual([image.digest]);
    expect(await digests("manifest_media_type=~image.INDEX")).toEqual([index.digest]);
    expect(await digests("artifact_type=~image.config")).toEqual([image.digest]);
    expect(await digests("type=IMAGE")).toEqual([index.digest, image.digest]);
    expect(await digests("type=CHART")).toEqual([]);
    expect(await digests(`repository_name=team/app,project_id=${projectId}`)).toEqual([index.digest, image.digest]);
    expect(await digests("project_id=999999")).toEqual([]);
    expect(await digests("color=blue")).toEqual([index.digest, image.digest]);
    expectError(
      await api.get(`/projects/team/repositories/app/artifacts?q=${encodeURIComponent("tags=latest")}`),
      400,
      "BAD_REQUEST",
      /"tags" query can only be fuzzy match value or exact match value with "\*" and "nil"/,
    );
    expectError(await api.get("/projects/team/repositories/app/artifacts?q=base%3Dx"), 400, "BAD_REQUEST", /"base"/);
    expectError(await api.get("/projects/team/repositories/app/artifacts?with_tag=maybe"), 400, "BAD_REQUEST");
  });

  it("gives a chart its type, extra_attrs and its files as additions", async () => {
    const got = await artifact("/projects/team/repositories/charts%252Fdemo/artifacts/0.1.0");
    const base = `/api/v2.0/projects/team/repositories/charts%252Fdemo/artifacts/${chart.digest}/additions`;
    expect(got).toMatchObject({
      type: "CHART",
      media_type: HELM_CONFIG,
      size: chart.size,
      repository_name: "team/charts/demo",
      extra_attrs: { apiVersion: "v2", name: "demo", version: "0.1.0" },
      addition_links: {
        "values.yaml": { href: `${base}/values.yaml`, absolute: false },
        "readme.md": { href: `${base}/readme.md`, absolute: false },
        dependencies: { href: `${base}/dependencies`, absolute: false },
      },
    });
    const values = await api.get(`/projects/team/repositories/charts%252Fdemo/artifacts/0.1.0/additions/values.yaml`);
    expect(values.status).toBe(200);
    expect(values.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(values.text).toBe(CHART_VALUES);
    const readme = await api.get(
      `/projects/team/repositories/charts%2Fdemo/artifacts/${chart.digest}/additions/README.MD`,
    );
    expect(readme.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(readme.text).toBe(CHART_README);
    const dependencies = await api.get(
      `/projects/team/repositories/charts%252Fdemo/artifacts/0.1.0/additions/dependencies`,
    );
    expect(dependencies.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(dependencies.json).toEqual([
      { name: "redis", version: "17.0.0", repository: "https://charts.example.com", condition: "redis.enabled" },
    ]);
    expectError(
      await api.get(`/projects/team/repositories/charts%252Fdemo/artifacts/0.1.0/additions/build_history`),
      400,
      "BAD_REQUEST",
    );
  });

  it("serves an image's build history, and nothing for what has no such addition", async () => {
    const history = await api.get("/projects/team/repositories/app/artifacts/1.0/additions/build_history");
    expect(history.status).toBe(200);
    expect(history.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(history.json).toEqual([
      { created: "2024-05-06T07:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:abc in / " },
      { created: "2024-05-06T07:08:09Z", created_by: 'CMD ["/app"]', empty_layer: true },
    ]);
    expectError(
      await api.get("/projects/team/repositories/app/artifacts/multi/additions/build_history"),
      400,
      "BAD_REQUEST",
    );
    expectError(
      await api.get("/projects/team/repositories/app/artifacts/1.0/additions/values.yaml"),
      400,
      "BAD_REQUEST",
    );
    expectError(await api.get("/projects/team/repositories/app/artifacts/1.0/additions/nonsense"), 400, "BAD_REQUEST");
    const vulnerabilities = await api.get("/projects/team/repositories/app/artifacts/1.0/additions/vulnerabilities");
    expect(vulnerabilities.status).toBe(200);
    expect(vulnerabilities.json).toEqual({});
  });

  it("answers 404 in Harbor's terms for what is not there", async () => {
    expectError(await api.get("/projects/team/repositories/app/artifacts/nope"), 404, "NOT_FOUND", /team\/app:nope/);
    expectError(await api.get(`/projects/team/repositories/app/artifacts/sha256:${"0".repeat(64)}`), 404, "NOT_FOUND");
    expectError(await api.get("/projects/team/repositories/none/artifacts/1.0"), 404, "NOT_FOUND");
    expectError(await api.get("/projects/nope/repositories/app/artifacts/1.0"), 404, "NOT_FOUND");
    expectError(await api.call("DELETE", "/projects/team/repositories/app/artifacts/nope"), 404, "NOT_FOUND");
  });

  it("reads with any role or read permission, and not without", async () => {
    const robot = await api.createRobot({
      name: "reader",
      level: "project",
      duration: -1,
      permissions: projectPermissions("team", [
        ["artifact", "read"],
        ["artifact", "list"],
      ]),
    });
    const asRobot = { username: robot.name, password: robot.secret };
    expect((await artifact("/projects/team/repositories/app/artifacts/1.0", asRobot)).digest).toBe(image.digest);
    expect((await list("", asRobot)).items).toHaveLength(2);
    expect((await artifact("/projects/team/repositories/app/artifacts/1.0", DEVELOPER)).digest).toBe(image.digest);
    expectError(await api.get("/projects/team/repositories/app/artifacts/1.0", null), 401, "UNAUTHORIZED");
    expectError(
      await api.get("/projects/team/repositories/app/artifacts/1.0/additions/build_history", asRobot),
      403,
      "FORBIDDEN",
    );
  });

  describe("delete", () => {
    async function storageUsed(): Promise<number> {
      const summary = (await api.get("/projects/team/summary")).json as { quota: { used: { storage: number } } };
      return summary.quota.used.storage;
    }

    it("refuses a child of an index with Harbor's 412, until the index goes", async () => {
      const child = index.children[0]?.digest ?? "";
      expectError(
        await api.call("DELETE", `/projects/team/repositories/app/artifacts/${child}`),
        412,
        "PRECONDITION",
        /the deleting artifact is referenced by others/,
      );
      expect((await oci.request("GET", `/v2/team/app/manifests/${child}`)).status).toBe(200);
      expect((await api.call("DELETE", "/projects/team/repositories/app/artifacts/multi")).status).toBe(200);
      expect((await api.call("DELETE", `/projects/team/repositories/app/artifacts/${child}`)).status).toBe(200);
    });

    it("lets maintainers delete, not developers, robots with the permission, not without", async () => {
      const extra = await pushRichImage(oci, "team/app", "extra", { seed: "extra" });
      expectError(
        await api.call("DELETE", "/projects/team/repositories/app/artifacts/extra", { auth: DEVELOPER }),
        403,
        "FORBIDDEN",
      );
      expectError(
        await api.call("DELETE", "/projects/team/repositories/app/artifacts/extra", { auth: null }),
        401,
        "UNAUTHORIZED",
      );
      const robot = await api.createRobot({
        name: "cleaner",
        level: "project",
        duration: -1,
        permissions: projectPermissions("team", [["artifact", "delete"]]),
      });
      const reply = await api.call("DELETE", `/projects/team/repositories/app/artifacts/${extra.digest}`, {
        auth: { username: robot.name, password: robot.secret },
      });
      expect(reply.status, reply.text).toBe(200);
      const another = await pushRichImage(oci, "team/app", "another", { seed: "another" });
      expect(
        (await api.call("DELETE", `/projects/team/repositories/app/artifacts/${another.digest}`, { auth: MAINTAINER }))
          .status,
      ).toBe(200);
    });

    it("deletes by tag the whole artifact with its tags, through /v2's code: quota down, audit entry", async () => {
      const alone = await pushRichImage(oci, "team/app", "alone", { seed: "alone" });
      await oci.pushManifest("team/app", "alone-too", JSON.parse(alone.bytes.toString("utf8")), OCI_MANIFEST);
      const before = await storageUsed();
      const id = (await artifact("/projects/team/repositories/app/artifacts/alone")).id;

      const reply = await api.call("DELETE", "/projects/team/repositories/app/artifacts/alone");
      expect(reply.status, reply.text).toBe(200);
      expect(reply.text).toBe("");
      expectError(await api.get(`/projects/team/repositories/app/artifacts/${alone.digest}`), 404, "NOT_FOUND");
      expect((await oci.request("GET", "/v2/team/app/manifests/alone-too")).status).toBe(404);
      expect((await oci.request("GET", `/v2/team/app/manifests/${alone.digest}`)).status).toBe(404);
      // Its config and layer were its own: they no longer count against the project's quota.
      expect(await storageUsed()).toBeLessThan(before);

      // The id is not given again.
      const again = await pushRichImage(oci, "team/app", "alone", { seed: "alone" });
      expect(again.digest).toBe(alone.digest);
      expect((await artifact("/projects/team/repositories/app/artifacts/alone")).id).toBeGreaterThan(id);

      let entries: Array<{ resource: string; operation: string; resource_type: string; username: string }> = [];
      for (let i = 0; i < 100; i++) {
        entries = (await api.get("/audit-logs?page_size=100&q=operation%3Ddelete")).json as typeof entries;
        if (entries.some((e) => e.resource === `team/app@${alone.digest}`)) break;
        await sleep(50);
      }
      expect(entries).toContainEqual(
        expect.objectContaining({
          resource: `team/app@${alone.digest}`,
          resource_type: "artifact",
          operation: "delete",
          username: "admin",
        }),
      );
    });
  });
});
