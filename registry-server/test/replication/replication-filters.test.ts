// Harbor's filter semantics (src/pkg/reg/filter and its tests): names, tags with several tags per
// artifact and untagged artifacts, labels this registry does not have yet, resource types, and
// which events start which event-based policies.

import { describe, expect, it } from "vitest";
import type { RegistryEvent } from "../../src/events/registry-events.ts";
import {
  eventMatches,
  harborTypeOfManifest,
  labelsMatch,
  repositoryMatches,
  resourceTypeAccepts,
  selectArtifact,
  selectTags,
} from "../../src/replication/replication-filters.ts";
import type { ReplicationFilter } from "../../src/replication/replication-policy.ts";
import { policyOf } from "./policy-fixture.ts";

const tag = (value: string, decoration: "matches" | "excludes" = "matches"): ReplicationFilter => ({
  type: "tag",
  value,
  decoration,
});

describe("replication filters", () => {
  it("match names with doublestar over the full repository name", () => {
    const name = (value: string): ReplicationFilter[] => [{ type: "name", value }];
    expect(repositoryMatches(name("library/**"), "library/a/b")).toBe(true);
    expect(repositoryMatches(name("library/*"), "library/a/b")).toBe(false);
    expect(repositoryMatches(name("*"), "library/nginx")).toBe(false);
    expect(repositoryMatches(name("**"), "library/nginx")).toBe(true);
    expect(repositoryMatches(name("{library,harbor}/**"), "harbor/hello-world")).toBe(true);
    expect(repositoryMatches(name(""), "anything/at-all")).toBe(true);
    // Several name filters must all match.
    expect(repositoryMatches([...name("library/**"), ...name("**/nginx")], "library/redis")).toBe(false);
  });

  it("keep the tags a pattern selects, and drop an artifact left with none", () => {
    // Harbor's pattern tests: `1.?` and character classes.
    expect(selectTags([tag("1.?")], ["1.0", "1.01"])).toEqual(["1.0"]);
    expect(selectTags([tag("v2.[4-6].*")], ["v2.4.0", "v2.7.0"])).toEqual(["v2.4.0"]);
    expect(selectTags([tag("v*")], ["latest", "dev"])).toBeUndefined();
    expect(selectTags([tag("v*", "excludes")], ["v1", "latest", "v2"])).toEqual(["latest"]);
    expect(selectTags([tag("v*", "excludes")], ["v1", "v2"])).toBeUndefined();
    // Filters apply in turn to what the previous one kept.
    expect(selectTags([tag("v*"), tag("*-rc", "excludes")], ["v1", "v2-rc", "latest"])).toEqual(["v1"]);
    // No tag filter keeps every tag.
    expect(selectTags([], ["a", "b"])).toEqual(["a", "b"]);
  });

  it("judge an untagged artifact by the empty string, as Harbor does", () => {
    expect(selectTags([], [])).toEqual([]);
    expect(selectTags([tag("**")], [])).toEqual([]);
    expect(selectTags([tag("*")], [])).toEqual([]);
    expect(selectTags([tag("v*")], [])).toBeUndefined();
    expect(selectTags([tag("v*", "excludes")], [])).toEqual([]);
    expect(selectTags([tag("*", "excludes")], [])).toBeUndefined();
  });

  it("select nothing by label matches and everything by label excludes, there being no labels", () => {
    const label = (decoration: "matches" | "excludes"): ReplicationFilter[] => [
      { type: "label", value: ["prod"], decoration },
    ];
    expect(labelsMatch(label("matches"))).toBe(false);
    expect(labelsMatch(label("excludes"))).toBe(true);
    expect(labelsMatch([{ type: "label", value: [], decoration: "matches" }])).toBe(true);
    // Harbor's rule once labels exist: all of them, or not all of them.
    expect(labelsMatch(label("matches"), ["prod", "x"])).toBe(true);
    expect(labelsMatch(label("excludes"), ["prod"])).toBe(false);
  });

  it("take images only for the image resource type, and any artifact for artifact", () => {
    const resource = (value: string): ReplicationFilter[] => [{ type: "resource", value }];
    expect(resourceTypeAccepts(resource("image"), "IMAGE")).toBe(true);
    expect(resourceTypeAccepts(resource("image"), "CHART")).toBe(false);
    expect(resourceTypeAccepts(resource("image"), undefined)).toBe(true);
    expect(resourceTypeAccepts(resource("artifact"), "CHART")).toBe(true);
    expect(selectArtifact(resource("image"), { repository: "p/chart", tags: ["1.0"], type: "CHART" })).toBeUndefined();
    expect(
      harborTypeOfManifest({ kind: "image", blobs: [{ mediaType: "application/vnd.cncf.helm.config.v1+json" }] }),
    ).toBe("OTHER");
    expect(
      harborTypeOfManifest({ kind: "image", blobs: [{ mediaType: "application/vnd.oci.image.config.v1+json" }] }),
    ).toBe("IMAGE");
    expect(harborTypeOfManifest({ kind: "index", blobs: [] })).toBe("IMAGE");
  });
});

describe("event-based policies", () => {
  const pushed = (repository: string, tags: string[], mediaType = "application/vnd.oci.image.index.v1+json") =>
    ({
      type: "PUSH_ARTIFACT",
      occurredAt: new Date(),
      operator: "dev",
      artifact: { repository, digest: `sha256:${"a".repeat(64)}`, mediaType, size: 100, tags },
    }) satisfies RegistryEvent;
  const deleted = (repository: string, tags: string[]) =>
    ({ ...pushed(repository, tags), type: "DELETE_ARTIFACT" }) satisfies RegistryEvent;
  const untagged = {
    type: "DELETE_TAG",
    occurredAt: new Date(),
    operator: "dev",
    repository: "prod/app",
    tag: "v1",
    digest: `sha256:${"a".repeat(64)}`,
  } satisfies RegistryEvent;
  const onEvents = policyOf({
    trigger: { type: "event_based" },
    filters: [{ type: "name", value: "prod/**" }, tag("v*")],
  });

  it("start on a push with tags the filters keep, with only those tags", () => {
    expect(eventMatches(onEvents, pushed("prod/app", ["v1", "latest"]))).toEqual({
      kind: "push",
      repository: "prod/app",
      digest: `sha256:${"a".repeat(64)}`,
      tags: ["v1"],
    });
    expect(eventMatches(onEvents, pushed("dev/app", ["v1"]))).toBeUndefined();
    expect(eventMatches(onEvents, pushed("prod/app", ["latest"]))).toBeUndefined();
    // A push by digest alone (an index's child, a referrer) starts nothing of its own.
    expect(eventMatches(policyOf({ trigger: { type: "event_based" } }), pushed("prod/app", []))).toBeUndefined();
  });

  it("ignore manual and scheduled policies, disabled ones, and pull policies", () => {
    const event = pushed("prod/app", ["v1"]);
    expect(eventMatches({ ...onEvents, trigger: { type: "manual" } }, event)).toBeUndefined();
    expect(eventMatches({ ...onEvents, trigger: { type: "scheduled", cron: "0 0 * * * *" } }, event)).toBeUndefined();
    expect(eventMatches({ ...onEvents, enabled: false }, event)).toBeUndefined();
    expect(eventMatches({ ...onEvents, srcRegistryId: 3, destRegistryId: undefined }, event)).toBeUndefined();
    expect(eventMatches(onEvents, { ...event, type: "PULL_ARTIFACT" })).toBeUndefined();
  });

  it("start deletions only when the policy replicates them", () => {
    expect(eventMatches(onEvents, deleted("prod/app", ["v1"]))).toBeUndefined();
    expect(eventMatches(onEvents, untagged)).toBeUndefined();
    const replicating = { ...onEvents, replicateDeletion: true };
    expect(eventMatches(replicating, deleted("prod/app", ["v1"]))).toMatchObject({
      kind: "delete_artifact",
      tags: ["v1"],
    });
    expect(eventMatches(replicating, untagged)).toMatchObject({ kind: "delete_tag", tags: ["v1"] });
    expect(eventMatches(replicating, { ...untagged, tag: "latest" })).toBeUndefined();
  });

  it("apply the image resource filter when the media type tells", () => {
    const images = { ...onEvents, filters: [{ type: "resource", value: "image" }] satisfies ReplicationFilter[] };
    expect(
      eventMatches(images, pushed("prod/app", ["v1"], "application/vnd.cncf.helm.config.v1+json")),
    ).toBeUndefined();
    expect(eventMatches(images, pushed("prod/app", ["v1"]))).toBeDefined();
    // An image manifest's own media type does not tell: the task checks the config.
    expect(
      eventMatches(images, pushed("prod/app", ["v1"], "application/vnd.oci.image.manifest.v1+json")),
    ).toBeDefined();
  });
});
