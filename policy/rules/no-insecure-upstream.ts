// An upstream registry endpoint marked `insecure` skips the verification of the upstream's
// certificate: whoever sits on the path out of the DMZ could then hand the proxy cache any image
// under a trusted name. A private CA goes in the endpoint's `caCertificate` instead.

import { isOf, type PolicySubject } from "./policy-subject";

/** Why the resource is an upstream endpoint that skips TLS verification; [] when it is not. */
export function insecureUpstream(subject: PolicySubject): string[] {
  if (!isOf(subject, "registryEndpoint") || subject.props["insecure"] !== true) return [];
  return [
    `upstream registry endpoint ${subject.name} is insecure (its certificate is not verified): ` +
      "give its CA as caCertificate instead",
  ];
}
