// The security gate's providers, their pure parts: a project's settings checked and normalised
// (severities, allowlists, public keys) and mapped to Harbor's metadata and cve_allowlist; the
// system CVE allowlist; the scanner registration; the singleton provider the schedules share.
// The property that keeps refresh quiet is tested directly: what `check` makes of an input, sent
// to the registry and read back as the registry answers it, is the same input.

import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkProject,
  projectProvider,
  type ProjectInputs,
  type ProjectOutputs,
} from "../../components/registry/project";
import {
  allowlistBody,
  allowlistFromHarbor,
  securityFromHarbor,
  securityMetadata,
} from "../../components/registry/project-security";
import { checkScanner, scannerBody, scannerFromHarbor, scannerProvider } from "../../components/registry/scanner";
import { checkSystemCveAllowlist, systemCveAllowlistProvider } from "../../components/registry/system-cve-allowlist";
import { UNKNOWN } from "../../components/unknowns";

const connection = { url: "https://registry.test:5443", username: "admin", password: "pw" };

const ecKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
const edKey = generateKeyPairSync("ed25519").publicKey;
const rsaKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
const spki = (key: typeof ecKey): string => key.export({ type: "spki", format: "pem" }).toString();

function checked(news: Record<string, unknown>): { inputs: ProjectInputs; failures: string[] } {
  const result = checkProject({ connection, name: "production", ...news });
  return {
    inputs: result.inputs as ProjectInputs,
    failures: (result.failures ?? []).map((f) => `${f.property}: ${f.reason}`),
  };
}

describe("a project's security settings", () => {
  it("are all off when left out, and written so (removing a line turns the gate off)", () => {
    const { inputs, failures } = checked({});
    expect(failures).toEqual([]);
    expect(securityMetadata(inputs)).toEqual({
      auto_scan: "false",
      prevent_vul: "false",
      prevent_stale_scan: "false",
      reuse_sys_cve_allowlist: "false",
      auto_sbom_generation: "false",
      enable_content_trust_cosign: "false",
    });
    expect(inputs.cveAllowlist).toEqual({ items: [] });
  });

  it("normalise severities, allowlists and keys, and read back from the registry's answer as the same input", () => {
    const rsaPkcs1 = rsaKey.export({ type: "pkcs1", format: "pem" }).toString();
    const { inputs, failures } = checked({
      autoScan: true,
      preventVulnerable: "High",
      preventStaleScan: true,
      cveAllowlist: { items: ["CVE-2024-3094", "CVE-2023-44487"], expiresAt: "2030-01-31" },
      autoSbom: true,
      requireSignature: true,
      // The same EC key twice (once with CRLF line ends), an RSA key in PKCS#1, an Ed25519 key in a bundle.
      trustedKeys: [spki(ecKey), spki(ecKey).replace(/\n/g, "\r\n"), rsaPkcs1, spki(edKey)],
    });
    expect(failures).toEqual([]);
    expect(inputs.preventVulnerable).toBe("high");
    expect(inputs.cveAllowlist).toEqual({
      items: ["CVE-2023-44487", "CVE-2024-3094"],
      expiresAt: "2030-01-31T00:00:00Z",
    });
    expect(inputs.trustedKeys).toEqual([spki(ecKey), spki(edKey), spki(rsaKey)].sort());

    // The registry keeps the metadata as sent (keys re-exported as SPKI, in the order given) and
    // answers the allowlist in the order it was sent, with the expiry in seconds.
    const metadata = securityMetadata(inputs);
    expect(metadata).toMatchObject({ prevent_vul: "true", severity: "high", enable_content_trust_cosign: "true" });
    const body = allowlistBody(inputs.cveAllowlist);
    expect(body).toEqual({
      items: [{ cve_id: "CVE-2023-44487" }, { cve_id: "CVE-2024-3094" }],
      expires_at: Date.UTC(2030, 0, 31) / 1000,
    });
    const answered = { id: 3, project_id: 7, ...body, items: [...(body["items"] as unknown[])].reverse() };
    const { cveAllowlist, trustedKeys, ...rest } = securityFromHarbor({ ...metadata, public: "false" }, answered);
    expect({ cveAllowlist, trustedKeys }).toEqual({
      cveAllowlist: inputs.cveAllowlist,
      trustedKeys: inputs.trustedKeys,
    });
    expect(rest).toEqual({
      autoScan: true,
      preventVulnerable: "high",
      preventStaleScan: true,
      reuseSystemCveAllowlist: false,
      autoSbom: true,
      requireSignature: true,
    });
  });

  it("are refused naming the key: a bad severity, a bad PEM, a private key, a weak key, duplicates, a bad expiry", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const weak = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey;
    const { failures } = checked({
      preventVulnerable: "urgent",
      requireSignature: true,
      trustedKeys: [
        spki(ecKey),
        "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
        privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        spki(weak),
        "ssh-ed25519 AAAA…",
      ],
      cveAllowlist: { items: ["CVE-1", "CVE-1", "two words"], expiresAt: "next year" },
    });
    expect(failures).toEqual([
      'preventVulnerable: expected one of low, medium, high, critical or false, got "urgent"',
      "trustedKeys[1]: is not a valid PEM public key",
      "trustedKeys[2]: is a private key: give only the public key (cosign.pub)",
      expect.stringMatching(/^trustedKeys\[3\]: is a ec key on secp256k1: ECDSA P-256/),
      "trustedKeys[4]: expected PEM public keys (-----BEGIN PUBLIC KEY-----) and nothing else",
      "cveAllowlist.items[1]: CVE-1 is listed twice",
      'cveAllowlist.items[2]: expected a vulnerability id such as CVE-2024-3094, got "two words"',
      expect.stringContaining("cveAllowlist.expiresAt: expected an ISO 8601 date or time"),
    ]);
  });

  it("refuse keys without requireSignature, a stale-scan rule without a severity, and the keys in metadata", () => {
    expect(checked({ trustedKeys: spki(ecKey) }).failures).toEqual([
      "trustedKeys: trusted keys are only used with requireSignature: true",
    ]);
    expect(checked({ preventStaleScan: true }).failures).toEqual([
      "preventStaleScan: only applies with preventVulnerable (a severity)",
    ]);
    expect(checked({ metadata: { auto_scan: "true", enable_content_trust: "true" } }).failures).toEqual([
      'metadata: set "auto_scan" with the autoScan input',
    ]);
  });

  it("hand unknowns back as they came", () => {
    const { inputs, failures } = checked({ preventVulnerable: UNKNOWN, trustedKeys: [UNKNOWN], cveAllowlist: UNKNOWN });
    expect(failures).toEqual([]);
    expect(inputs.preventVulnerable).toBe(UNKNOWN);
    expect(inputs.trustedKeys).toEqual([UNKNOWN]);
    expect(inputs.cveAllowlist).toBe(UNKNOWN);
  });

  it("diff: a setting changed is an update, state written before the settings existed too, key order is not", async () => {
    const checkedInputs = checked({
      preventVulnerable: "critical",
      cveAllowlist: { items: ["CVE-1"], expiresAt: 1900000000 },
    }).inputs;
    const inputs: ProjectOutputs = { ...checkedInputs, projectId: 1 };
    const reordered = { ...inputs, cveAllowlist: { expiresAt: inputs.cveAllowlist.expiresAt, items: ["CVE-1"] } };
    expect((await projectProvider.diff!("1", reordered as ProjectOutputs, checkedInputs)).changes).toBe(false);
    const lower = { ...checkedInputs, preventVulnerable: "high" as const };
    expect((await projectProvider.diff!("1", inputs, lower)).changes).toBe(true);
    const { autoScan: _autoScan, ...legacy } = inputs;
    expect((await projectProvider.diff!("1", legacy as ProjectOutputs, checkedInputs)).changes).toBe(true);
  });
});

describe("the system CVE allowlist", () => {
  it("is sorted, its expiry in one form, read back alike; refused naming the item", async () => {
    const result = checkSystemCveAllowlist({
      connection,
      items: ["GHSA-xxxx", "CVE-2024-3094"],
      expiresAt: 1900000000,
    });
    expect(result.failures).toEqual([]);
    expect(result.inputs).toEqual({
      connection,
      items: ["CVE-2024-3094", "GHSA-xxxx"],
      expiresAt: "2030-03-17T17:46:40Z",
    });
    const answer = {
      id: 1,
      project_id: 0,
      expires_at: 1900000000,
      items: [{ cve_id: "GHSA-xxxx" }, { cve_id: "CVE-2024-3094" }],
    };
    const { connection: _c, ...declared } = result.inputs as { connection: unknown };
    expect(allowlistFromHarbor(answer)).toEqual(declared);
    expect(checkSystemCveAllowlist({ connection, items: ["ok", ""] }).failures).toEqual([
      { property: "items[1]", reason: 'expected a vulnerability id such as CVE-2024-3094, got ""' },
    ]);
    const diff = await systemCveAllowlistProvider.diff!(
      "system-cve-allowlist",
      { connection, items: ["A"] },
      { connection, items: ["A", "B"] },
    );
    expect(diff.changes).toBe(true);
  });
});

describe("a scanner registration", () => {
  const declared = {
    connection,
    name: "clair",
    url: "HTTPS://Clair.Example:443/adapter/",
    auth: "bearer",
    accessCredential: "token-1",
    isDefault: true,
  };

  it("normalises the URL and scheme as the registry keeps them; the credential is sent only when asked", () => {
    const failures: string[] = [];
    const inputs = checkScanner(declared, (property, reason) => failures.push(`${property}: ${reason}`));
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ url: "https://clair.example/adapter", auth: "Bearer", credentialVersion: 0 });
    expect(scannerBody(inputs, true)["access_credential"]).toBe("token-1");
    expect(scannerBody(inputs, false)["access_credential"]).toBe("");
    // The registry's answer: the credential never comes back, the one in the state stands for it.
    const live = { ...scannerBody(inputs, false), uuid: "u-1", is_default: true, health: "healthy" };
    expect(scannerFromHarbor(inputs, live)).toEqual(inputs);
    expect(scannerFromHarbor(inputs, { ...live, is_default: false, skip_certVerify: true })).toMatchObject({
      isDefault: false,
      skipCertVerify: true,
    });
    // Not declared the default: the registry's choice is not drift.
    const other = { ...inputs, isDefault: false };
    expect(scannerFromHarbor(other, live).isDefault).toBe(false);
  });

  it("is refused naming the key, never echoing the credential", () => {
    const failures: string[] = [];
    checkScanner(
      {
        connection,
        name: " x ",
        url: "ftp://x",
        auth: "Digest",
        accessCredential: "se\ncret",
        isDefault: true,
        disabled: true,
      },
      (property, reason) => failures.push(`${property}: ${reason}`),
    );
    expect(failures).toEqual([
      'name: expected a name of 1 to 128 characters without surrounding spaces, got " x "',
      'url: expected an http(s) URL without credentials, query or fragment, got "ftp://x"',
      'auth: expected one of Basic, Bearer, X-ScannerAdapter-API-Key, got "Digest"',
      "accessCredential: expected a non-empty credential without control characters",
      "auth: an accessCredential needs an auth scheme",
      "disabled: the default scanner cannot be disabled",
    ]);
    expect(failures.join("\n")).not.toContain("cret");
  });

  it("diff: a new credential version is an update, never a replacement", async () => {
    const failures: string[] = [];
    const inputs = checkScanner(declared, (property, reason) => failures.push(`${property}: ${reason}`));
    const state = { ...inputs, uuid: "u-1" };
    const diff = await scannerProvider.diff!("u-1", state, { ...inputs, credentialVersion: 1 });
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    expect((await scannerProvider.diff!("u-1", state, { ...inputs })).changes).toBe(false);
  });
});
