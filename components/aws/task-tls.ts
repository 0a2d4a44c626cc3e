// The TLS material of the registry's tasks. The server speaks HTTPS only, so every task needs a
// certificate even when TLS ends at the load balancer:
//   ACM certificate at the load balancer  the tasks get one from a CA generated for the stack,
//                                         for the hop behind it (load balancers do not check it);
//                                         clients trust the ACM certificate's issuer
//   a certificate given                   mounted in the tasks; clients trust tls.caCertificate
//   neither                               a CA and certificate generated for hostName, mounted
//                                         in the tasks; clients trust the generated CA
// The private keys stay secrets in the state (and in Secrets Manager, task-secrets.ts).

import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "../tls/certificate-authority";
import { TlsCertificate } from "../tls/tls-certificate";
import type { AwsTlsSettings } from "./aws-settings";

export interface TaskTls {
  certPem: pulumi.Output<string>;
  keyPem: pulumi.Output<string>;
  /** The CA clients trust, when known (none for a public ACM certificate). */
  caCertPem: pulumi.Output<string | undefined>;
}

export function declareTaskTls(name: string, tls: AwsTlsSettings, hostName: string, parent: pulumi.Resource): TaskTls {
  const givenCa = tls.caCertificate !== undefined ? pulumi.output(tls.caCertificate) : pulumi.output(undefined);
  if (tls.certificatePem !== undefined && tls.privateKeyPem !== undefined) {
    return {
      certPem: pulumi.output(tls.certificatePem),
      keyPem: pulumi.secret(tls.privateKeyPem),
      caCertPem: givenCa,
    };
  }
  const ca = new CertificateAuthority(`${name}-ca`, { commonName: `${name} registry CA` }, { parent });
  const certificate = new TlsCertificate(
    `${name}-tls`,
    {
      caCertPem: ca.certPem,
      caKeyPem: ca.keyPem,
      commonName: hostName,
      // localhost: the container's own health check connects over loopback.
      dnsNames: [hostName, "localhost"],
    },
    { parent },
  );
  return {
    certPem: certificate.certPem,
    keyPem: certificate.keyPem,
    // Behind an ACM certificate the generated CA only signs the inner hop: clients never see it.
    caCertPem: tls.certificateArn !== undefined ? givenCa : ca.certPem,
  };
}
