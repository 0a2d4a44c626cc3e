import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateCa } from "../../components/tls/certificate-authority";
import { checkCertInputs, issueCertificate } from "../../components/tls/tls-certificate";

describe("generated TLS material", () => {
  it("makes a CA that signs a server certificate valid for the given names and addresses", async () => {
    const ca = await generateCa({ commonName: "unit CA", validityDays: 30 });
    const issued = await issueCertificate({
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      commonName: "localhost",
      dnsNames: ["registry.example.test"],
      ipAddresses: ["127.0.0.1", "::1"],
      validityDays: 10,
      renewBeforeDays: 1,
    });

    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(issued.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkHost("registry.example.test")).toBe("registry.example.test");
    expect(cert.checkHost("other.example.test")).toBeUndefined();
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkIP("10.0.0.1")).toBeUndefined();
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);

    // The private key matches the certificate's public key.
    const fromKey = createPublicKey(createPrivateKey(issued.keyPem)).export({ format: "der", type: "spki" });
    expect(fromKey.equals(cert.publicKey.export({ format: "der", type: "spki" }))).toBe(true);

    // Never valid for longer than the CA.
    expect(Date.parse(issued.notAfter)).toBeLessThanOrEqual(Date.parse(caCert.validTo));
    expect(ca.sha256Fingerprint).toBe(caCert.fingerprint256.replaceAll(":", "").toLowerCase());
  });

  it("refuses bad certificate inputs with the property at fault", () => {
    const { failures } = checkCertInputs({
      caCertPem: "not a certificate",
      caKeyPem: "-----BEGIN PRIVATE KEY-----",
      commonName: "localhost",
      dnsNames: ["bad name"],
      ipAddresses: ["300.1.1.1"],
      validityDays: 10,
      renewBeforeDays: 20,
    });
    expect((failures ?? []).map((f) => f.property).sort()).toEqual([
      "caCertPem",
      "dnsNames",
      "ipAddresses",
      "renewBeforeDays",
    ]);
  });
});
