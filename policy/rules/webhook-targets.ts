// A webhook carries the registry's events (scan results, pushes, replications) out of the zone to
// systems that act on them: the security team's endpoint trusts what it receives. So each http
// target is reached over HTTPS with its certificate verified (whoever sits on the path could
// otherwise read or forge the events), and sends an auth header (otherwise the receiver cannot
// tell the registry's deliveries from anyone's). A Slack target carries its secret in its URL and
// needs no header. (An endpoint replicated to is an upstream endpoint: tls-everywhere and
// no-insecure-upstream hold it to the same rules.)

import { asRecords, isOf, type PolicySubject } from "./policy-subject";

/** Why the resource is a webhook policy whose targets are not verified and authenticated; [] when it is not. */
export function unsafeWebhookTargets(subject: PolicySubject): string[] {
  if (!isOf(subject, "webhookPolicy")) return [];
  const headers = subject.props["authHeaders"];
  const problems: string[] = [];
  asRecords(subject.props["targets"]).forEach((target, index) => {
    const address = typeof target["address"] === "string" ? target["address"] : "";
    const at = `webhook policy ${subject.name} posts to ${address}`;
    if (/^http:\/\//i.test(address) || (address !== "" && !address.includes("://"))) {
      problems.push(`${at} over plain HTTP: use https://`);
    }
    if (target["skipCertVerify"] === true) {
      problems.push(`${at} without verifying its certificate (skipCertVerify): trust its CA instead`);
    }
    const header = Array.isArray(headers) ? (headers as unknown[])[index] : undefined;
    if ((target["type"] ?? "http") === "http" && (typeof header !== "string" || header === "")) {
      problems.push(`${at} without an authHeader: the receiver cannot tell the registry's deliveries from forged ones`);
    }
  });
  return problems;
}
