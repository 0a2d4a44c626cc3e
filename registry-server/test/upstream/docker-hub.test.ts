// Docker Hub's naming rules, and the URLs the factory gives each registry type.

import { describe, expect, it } from "vitest";
import { defaultUrl } from "../../src/upstream/adapter-catalog.ts";
import { dockerHubBaseUrl, dockerHubRepository } from "../../src/upstream/docker-hub.ts";
import { ecrRegion } from "../../src/upstream/ecr-credentials.ts";

describe("registry type rules", () => {
  it("maps the names users give Docker Hub to its v2 API, and keeps any other URL", () => {
    for (const url of [
      "https://hub.docker.com",
      "https://docker.io",
      "https://index.docker.io",
      "https://registry-1.docker.io",
    ]) {
      expect(dockerHubBaseUrl(url)).toBe("https://registry-1.docker.io");
    }
    expect(dockerHubBaseUrl("http://127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(dockerHubBaseUrl("https://mirror.gcr.io")).toBe("https://mirror.gcr.io");
  });

  it("spells official images library/<name>", () => {
    expect(dockerHubRepository("nginx")).toBe("library/nginx");
    expect(dockerHubRepository("bitnami/redis")).toBe("bitnami/redis");
    expect(dockerHubRepository("library/alpine")).toBe("library/alpine");
  });

  it("knows the fixed URLs, and ECR's region from the registry host", () => {
    expect(defaultUrl("docker-hub")).toBe("https://hub.docker.com");
    expect(defaultUrl("github-ghcr")).toBe("https://ghcr.io");
    expect(defaultUrl("quay")).toBe("https://quay.io");
    expect(defaultUrl("google-gcr")).toBe("https://gcr.io");
    expect(defaultUrl("docker-registry")).toBeUndefined();
    expect(defaultUrl("azure-acr")).toBeUndefined();
    expect(ecrRegion("https://123456789012.dkr.ecr.eu-west-3.amazonaws.com")).toBe("eu-west-3");
    expect(ecrRegion("https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")).toBe("cn-north-1");
    expect(ecrRegion("https://registry.example")).toBeUndefined();
  });
});
