// Harbor's webhook payloads, checked against documents taken from Harbor's own code and tests:
// the Default format's example in src/pkg/notifier/formats/default.go, the CloudEvents case of
// src/pkg/notifier/formats/cloudevents_test.go, the handlers' field choices in
// src/controller/event/handler/webhook/{artifact,quota,scan}/*.go and artifact/{replication,
// retention}.go, and the Slack template of src/pkg/notifier/handler/notification/slack_handler.go.

import { describe, expect, it } from "vitest";
import { harborPayload, type PayloadContext, type WebhookEvent } from "../../src/webhook/event-payload.ts";
import { formatCloudEvents } from "../../src/webhook/payload-cloudevents.ts";
import { formatDefault } from "../../src/webhook/payload-default.ts";
import { formatSlack } from "../../src/webhook/payload-slack.ts";

const DIGEST = "sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c";

const LIBRARY: PayloadContext = {
  project: { id: 1, name: "library", public: true },
  registryHost: "harbor.dev",
  registryEndpoint: "https://harbor.dev",
  repositoryCreatedAt: new Date(1677053165_000),
};

function artifactOf(tags: string[]) {
  return {
    repository: "library/busybox",
    digest: DIGEST,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    size: 527,
    tags,
  };
}

function pulled(occurAt: number, tags: string[] = []): WebhookEvent {
  return {
    type: "PULL_ARTIFACT",
    occurredAt: new Date(occurAt * 1000 + 250),
    operator: "admin",
    artifact: artifactOf(tags),
  };
}

// default.go's comment, verbatim (whitespace aside): the Default format of a pull by digest.
const HARBOR_DEFAULT_EXAMPLE = `{
   "type":"PULL_ARTIFACT",
   "occur_at":1678082303,
   "operator":"admin",
   "event_data":{
      "resources":[
         {
            "digest":"sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c",
            "tag":"sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c",
            "resource_url":"harbor.dev/library/busybox@sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c"
         }
      ],
      "repository":{
         "date_created":1677053165,
         "name":"busybox",
         "namespace":"library",
         "repo_full_name":"library/busybox",
         "repo_type":"public"
      }
   }
}`;

// cloudevents_test.go's expected `data`, byte for byte.
const HARBOR_CLOUDEVENTS_DATA = `{"resources":[{"digest":"sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c","tag":"sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c","resource_url":"harbor.dev/library/busybox@sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c"}],"repository":{"date_created":1677053165,"name":"busybox","namespace":"library","repo_full_name":"library/busybox","repo_type":"public"}}`;

describe("Harbor's Default format", () => {
  it("writes default.go's example byte for byte, keys in Harbor's order", () => {
    const formatted = formatDefault(harborPayload(pulled(1678082303), LIBRARY));
    expect(formatted.contentType).toBe("application/json");
    expect(formatted.body).toBe(JSON.stringify(JSON.parse(HARBOR_DEFAULT_EXAMPLE)));
  });

  it("names a tagged artifact by its first tag, and leaves out the creation of a repository gone", () => {
    const deleted: WebhookEvent = {
      type: "DELETE_ARTIFACT",
      occurredAt: new Date(1678082303_000),
      operator: "admin",
      artifact: artifactOf(["v1", "latest"]),
    };
    const { repositoryCreatedAt: _gone, ...context } = LIBRARY;
    const payload = harborPayload(deleted, {
      ...context,
      project: { ...LIBRARY.project, public: false },
    });
    expect(payload.event_data?.resources).toEqual([
      { digest: DIGEST, tag: "v1", resource_url: "harbor.dev/library/busybox:v1" },
    ]);
    expect(payload.event_data?.repository).toEqual({
      name: "busybox",
      namespace: "library",
      repo_full_name: "library/busybox",
      repo_type: "private",
    });
  });
});

describe("Harbor's CloudEvents format", () => {
  it("is cloudevents_test.go's event: attributes, extensions and data", () => {
    const formatted = formatCloudEvents(harborPayload(pulled(1678082923), LIBRARY), {
      projectId: 1,
      policyId: 3,
      id: "4b2f89a6-548d-4c12-9993-a1f5790b97d2",
      requestId: "mock-request-id",
    });
    expect(formatted.contentType).toBe("application/cloudevents+json");
    const event = JSON.parse(formatted.body) as Record<string, unknown>;
    expect(event).toEqual({
      specversion: "1.0",
      id: "4b2f89a6-548d-4c12-9993-a1f5790b97d2",
      requestid: "mock-request-id",
      source: "/projects/1/webhook/policies/3",
      type: "harbor.artifact.pulled",
      datacontenttype: "application/json",
      time: "2023-03-06T06:08:43Z",
      operator: "admin",
      data: JSON.parse(HARBOR_CLOUDEVENTS_DATA) as unknown,
    });
    expect(JSON.stringify(event["data"])).toBe(HARBOR_CLOUDEVENTS_DATA);
  });

  it("maps every event type to Harbor's CloudEvents type", () => {
    const types: Array<[WebhookEvent["type"], string]> = [
      ["PUSH_ARTIFACT", "harbor.artifact.pushed"],
      ["DELETE_ARTIFACT", "harbor.artifact.deleted"],
      ["QUOTA_EXCEED", "harbor.quota.exceeded"],
      ["QUOTA_WARNING", "harbor.quota.warned"],
      ["SCANNING_FAILED", "harbor.scan.failed"],
      ["SCANNING_STOPPED", "harbor.scan.stopped"],
      ["SCANNING_COMPLETED", "harbor.scan.completed"],
      ["REPLICATION", "harbor.replication.status.changed"],
      ["TAG_RETENTION", "harbor.tag_retention.finished"],
    ];
    for (const [type, expected] of types) {
      const body = formatCloudEvents(
        { type, occur_at: 1, operator: "" },
        { projectId: 2, policyId: 5, id: "x", requestId: "" },
      ).body;
      expect((JSON.parse(body) as { type: string }).type).toBe(expected);
    }
  });
});

describe("payloads of the other event types", () => {
  it("quota: the refused digest, Harbor's message under Details, no URL nor creation time", () => {
    const payload = harborPayload(
      {
        type: "QUOTA_EXCEED",
        occurredAt: new Date(1_700_000_000_000),
        operator: "",
        projectName: "library",
        repository: "library/busybox",
        digest: DIGEST,
        details:
          "adding 1.00 KiB of storage resource, which when updated to current usage of 9.00 KiB will exceed the configured upper limit of 10.00 KiB.",
      },
      LIBRARY,
    );
    expect(JSON.stringify(payload)).toBe(
      JSON.stringify({
        type: "QUOTA_EXCEED",
        occur_at: 1_700_000_000,
        operator: "",
        event_data: {
          resources: [{ digest: DIGEST }],
          repository: { name: "busybox", namespace: "library", repo_full_name: "library/busybox", repo_type: "public" },
          custom_attributes: {
            Details:
              "adding 1.00 KiB of storage resource, which when updated to current usage of 9.00 KiB will exceed the configured upper limit of 10.00 KiB.",
          },
        },
      }),
    );
  });

  it("scan: the tag scanned, the artifact's scan overview and the scan type", () => {
    const overview = {
      "application/vnd.security.vulnerability.report; version=1.1": { scan_status: "Success", severity: "High" },
    };
    const payload = harborPayload(
      {
        type: "SCANNING_COMPLETED",
        occurredAt: new Date(1_700_000_000_000),
        operator: "admin",
        executionId: 9,
        artifact: artifactOf(["v2"]),
        scanOverview: overview,
      },
      LIBRARY,
    );
    expect(JSON.stringify(payload.event_data)).toBe(
      JSON.stringify({
        resources: [
          { digest: DIGEST, tag: "v2", resource_url: "harbor.dev/library/busybox:v2", scan_overview: overview },
        ],
        repository: { name: "busybox", namespace: "library", repo_full_name: "library/busybox", repo_type: "public" },
        scan: { scan_type: "vulnerability" },
      }),
    );
  });

  it("replication: Harbor's replication block, this registry's side and the artifact's outcome", () => {
    const payload = harborPayload(
      {
        type: "REPLICATION",
        occurredAt: new Date(1_700_000_100_000),
        operator: "admin",
        policyId: 4,
        policyName: "to-dr",
        policyCreator: "admin",
        executionId: 12,
        trigger: "manual",
        override: true,
        startedAt: new Date(1_700_000_000_000),
        source: { registryName: "", registryType: "harbor", endpoint: "https://harbor.dev", namespace: "library" },
        destination: {
          registryName: "dr",
          registryType: "harbor",
          endpoint: "https://dr.example",
          namespace: "backup",
        },
        artifact: { type: "image", nameTag: "busybox:v1", status: "Success" },
      },
      LIBRARY,
    );
    expect(JSON.stringify(payload.event_data)).toBe(
      JSON.stringify({
        replication: {
          harbor_hostname: "harbor.dev",
          job_status: "Success",
          artifact_type: "image",
          override_mode: true,
          trigger_type: "manual",
          policy_creator: "admin",
          execution_timestamp: 1_700_000_000,
          src_resource: { registry_type: "harbor", endpoint: "https://harbor.dev", namespace: "library" },
          dest_resource: {
            registry_name: "dr",
            registry_type: "harbor",
            endpoint: "https://dr.example",
            namespace: "backup",
          },
          successful_artifact: [{ type: "image", status: "Success", name_tag: "busybox:v1", references: [] }],
        },
      }),
    );
  });

  it("retention: counts, the policy's rules and each artifact deleted", () => {
    const rule = {
      id: 1,
      priority: 0,
      disabled: false,
      action: "retain",
      template: "latestPushedK",
      params: { latestPushedK: 1 },
      tag_selectors: [{ kind: "doublestar", decoration: "matches", pattern: "**", extras: "" }],
      scope_selectors: { repository: [{ kind: "doublestar", decoration: "repoMatches", pattern: "**", extras: "" }] },
    };
    const payload = harborPayload(
      {
        type: "TAG_RETENTION",
        occurredAt: new Date(1_700_000_000_000),
        operator: "MANUAL",
        projectId: 1,
        projectName: "library",
        policyId: 3,
        executionId: 7,
        status: "SUCCESS",
        total: 3,
        retained: 1,
        deleted: [
          { repository: "library/busybox", digest: DIGEST, tags: ["old"] },
          { repository: "library/busybox", digest: "sha256:" + "1".repeat(64), tags: [] },
        ],
      },
      { ...LIBRARY, retentionRules: [rule] },
    );
    expect(JSON.stringify(payload)).toBe(
      JSON.stringify({
        type: "TAG_RETENTION",
        occur_at: 1_700_000_000,
        operator: "MANUAL",
        event_data: {
          retention: {
            total: 3,
            retained: 1,
            harbor_hostname: "harbor.dev",
            project_name: "library",
            retention_policy_id: 3,
            retention_rule: [
              {
                template: "latestPushedK",
                params: { latestPushedK: 1 },
                tag_selectors: rule.tag_selectors,
                scope_selectors: rule.scope_selectors,
              },
            ],
            result: "SUCCESS",
            deleted_artifact: [
              { type: "image", status: "SUCCESS", name_tag: "busybox:old" },
              { type: "image", status: "SUCCESS", name_tag: "" },
            ],
          },
        },
      }),
    );
  });
});

describe("Harbor's Slack message", () => {
  it("has the template's sections, the event data indented with tabs in a code block", () => {
    const payload = harborPayload(pulled(1678082303), LIBRARY);
    const formatted = formatSlack(payload);
    expect(formatted.contentType).toBe("application/json");
    const message = JSON.parse(formatted.body) as {
      blocks: Array<{ type: string; text: { type: string; text: string } }>;
    };
    expect(message.blocks.every((block) => block.type === "section" && block.text.type === "mrkdwn")).toBe(true);
    expect(message.blocks.map((block) => block.text.text)).toEqual([
      "*Harbor webhook events*",
      "*event_type:* PULL_ARTIFACT",
      "*occur_at:* <!date^1678082303^{date} at {time}|February 18th, 2014 at 6:39 AM PST>",
      "*operator:* admin",
      "*event_data:*",
      "```" + JSON.stringify(payload.event_data, null, "\t") + "```",
    ]);
    expect(message.blocks[5]?.text.text).toContain('\n\t"resources": [\n\t\t{\n\t\t\t"digest": "sha256:dde8');
  });
});
