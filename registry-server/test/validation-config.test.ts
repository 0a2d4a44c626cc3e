// `validation.manifests` in the server's configuration (Distribution 3's keys for sparse
// indexes, and sparse images): strict by default, the file read as Distribution writes it, the
// environment overriding it, and mistakes named with their key.

import { describe, expect, it } from "vitest";
import { overridesFromEnvironment, parseFileConfig, resolveConfig } from "../src/config.ts";

const HASH = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

function resolved(validation: unknown, env: Record<string, string> = {}) {
  const file = parseFileConfig(
    { dataDir: "/d", auth: { admin: { passwordHash: HASH } }, ...(validation !== undefined && { validation }) },
    "test.yaml",
  );
  return resolveConfig(file, overridesFromEnvironment(env), "/").validation;
}

describe("validation.manifests", () => {
  it("is strict by default: every child of an index, every blob of an image", () => {
    expect(resolved(undefined)).toEqual({ indexChildren: "all", blobs: "all" });
    expect(resolved({ manifests: { indexes: {} } })).toEqual({ indexChildren: "all", blobs: "all" });
  });

  it("reads Distribution 3's indexes.platforms and platformlist, in any case", () => {
    expect(resolved({ manifests: { indexes: { platforms: "none" } } })).toEqual({
      indexChildren: "none",
      blobs: "all",
    });
    expect(
      resolved({
        manifests: {
          indexes: { platforms: "List", platformlist: [{ os: "linux", architecture: "amd64" }] },
          blobs: "None",
        },
      }),
    ).toEqual({ indexChildren: [{ os: "linux", architecture: "amd64" }], blobs: "none" });
  });

  it("takes AIRLOCK_INDEX_PLATFORMS and AIRLOCK_MANIFEST_BLOBS over the file", () => {
    const file = { manifests: { indexes: { platforms: "all" } } };
    expect(resolved(file, { AIRLOCK_INDEX_PLATFORMS: "none", AIRLOCK_MANIFEST_BLOBS: "none" })).toEqual({
      indexChildren: "none",
      blobs: "none",
    });
    expect(resolved(file, { AIRLOCK_INDEX_PLATFORMS: "linux/amd64, linux/arm64" })).toEqual({
      indexChildren: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      blobs: "all",
    });
    expect(resolved({ manifests: { indexes: { platforms: "none" } } }, { AIRLOCK_INDEX_PLATFORMS: "ALL" })).toEqual({
      indexChildren: "all",
      blobs: "all",
    });
  });

  it("names the key of a mistake", () => {
    expect(() => resolved({ manifests: { indexes: { platforms: "some" } } })).toThrow(
      /validation\.manifests\.indexes\.platforms/,
    );
    expect(() => resolved({ manifests: { indexes: { platforms: "list" } } })).toThrow(
      /validation\.manifests\.indexes\.platformlist: platforms: list needs a platformlist/,
    );
    expect(() =>
      resolved({
        manifests: { indexes: { platforms: "all", platformlist: [{ os: "linux", architecture: "amd64" }] } },
      }),
    ).toThrow(/platformlist is read only with platforms: list/);
    expect(() => resolved({ manifests: { blobs: "some" } })).toThrow(/validation\.manifests\.blobs/);
    expect(() => resolved(undefined, { AIRLOCK_INDEX_PLATFORMS: "linux" })).toThrow(
      /validation\.manifests\.indexes\.platformlist\.0\.architecture/,
    );
    expect(() => resolved(undefined, { AIRLOCK_INDEX_PLATFORMS: "linux/arm64/v8" })).toThrow(/variant/);
  });
});
