// TLS on every hop a pull or push takes: listeners of AWS load balancers (HTTPS or TLS, plain HTTP
// only to redirect to HTTPS, TCP only when it passes the task's own TLS through), their target
// groups (the hop to the task is encrypted too), Kubernetes Ingresses (every host under TLS, and
// with ingress-nginx HTTPS again to the pods, no redirect switched off) and the upstream registry
// endpoints the proxy cache pulls from (https:// URLs).

import { AIRLOCK_TAGS } from "../../components/aws/aws-tags";
import { asRecord, asRecords, isOf, kubernetesMetadata, stringMap, type PolicySubject } from "./policy-subject";

const NGINX = "nginx.ingress.kubernetes.io";

/** A protocol value for a message: the string, or what else it is. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : value === undefined ? "no protocol" : JSON.stringify(value);
}

function isPassthrough(props: Record<string, unknown>): boolean {
  return stringMap(props["tags"])[AIRLOCK_TAGS.tls] === "passthrough";
}

function listenerProblems(subject: PolicySubject): string[] {
  const protocol = subject.props["protocol"];
  if (protocol === "HTTPS" || protocol === "TLS") return [];
  if (protocol === "HTTP") {
    const actions = asRecords(subject.props["defaultActions"]);
    const redirectsOnly =
      actions.length > 0 &&
      actions.every(
        (action) => action["type"] === "redirect" && asRecord(action["redirect"])?.["protocol"] === "HTTPS",
      );
    return redirectsOnly
      ? []
      : [`listener ${subject.name} serves plain HTTP: use HTTPS (or only redirect HTTP to HTTPS)`];
  }
  if (protocol === "TCP" && isPassthrough(subject.props)) return [];
  return [
    `listener ${subject.name} uses ${shown(protocol)}: use HTTPS or TLS, or TCP tagged ` +
      `${AIRLOCK_TAGS.tls}=passthrough when the task terminates TLS itself`,
  ];
}

function targetGroupProblems(subject: PolicySubject): string[] {
  const protocol = subject.props["protocol"];
  // Lambda targets have no protocol; HTTPS and TLS encrypt the hop to the task.
  if (protocol === undefined || protocol === "HTTPS" || protocol === "TLS") return [];
  if (protocol === "TCP" && isPassthrough(subject.props)) return [];
  return [`target group ${subject.name} reaches its targets over ${shown(protocol)}: use HTTPS or TLS`];
}

/** Whether a TLS host entry (possibly `*.example.com`) covers the host. */
function covers(tlsHost: string, host: string): boolean {
  if (tlsHost === host) return true;
  if (!tlsHost.startsWith("*.")) return false;
  const suffix = tlsHost.slice(1);
  const label = host.slice(0, -suffix.length);
  return host.endsWith(suffix) && label !== "" && !label.includes(".");
}

function ingressProblems(subject: PolicySubject): string[] {
  const spec = asRecord(subject.props["spec"]) ?? {};
  const tls = asRecords(spec["tls"]);
  const problems: string[] = [];
  if (tls.length === 0) {
    problems.push(`Ingress ${subject.name} has no TLS section: clients would pull over plain HTTP`);
  } else {
    const tlsHosts = tls.flatMap((entry): unknown[] => (Array.isArray(entry["hosts"]) ? entry["hosts"] : []));
    for (const rule of asRecords(spec["rules"])) {
      const host = rule["host"];
      if (
        typeof host === "string" &&
        !tlsHosts.some((tlsHost) => typeof tlsHost === "string" && covers(tlsHost, host))
      ) {
        problems.push(`Ingress ${subject.name} serves ${host} without TLS: add it to spec.tls[].hosts`);
      }
    }
  }
  const { annotations } = kubernetesMetadata(subject.props);
  const nginx = spec["ingressClassName"] === "nginx" || Object.keys(annotations).some((key) => key.startsWith(NGINX));
  if (nginx) {
    const backend = annotations[`${NGINX}/backend-protocol`] ?? "HTTP";
    if (backend !== "HTTPS" && backend !== "GRPCS") {
      problems.push(`Ingress ${subject.name} reaches its pods over ${backend}: set ${NGINX}/backend-protocol: HTTPS`);
    }
    if (annotations[`${NGINX}/ssl-redirect`] === "false") {
      problems.push(`Ingress ${subject.name} turns off the redirect to HTTPS (${NGINX}/ssl-redirect: "false")`);
    }
  }
  return problems;
}

/** Why the resource lets traffic travel without TLS; [] when it does not. */
export function withoutTls(subject: PolicySubject): string[] {
  if (isOf(subject, "awsListener")) return listenerProblems(subject);
  if (isOf(subject, "awsTargetGroup")) return targetGroupProblems(subject);
  if (isOf(subject, "kubernetesIngress")) return ingressProblems(subject);
  if (isOf(subject, "registryEndpoint")) {
    const url = subject.props["url"];
    if (typeof url === "string" && /^http:\/\//i.test(url)) {
      return [`upstream registry endpoint ${subject.name} is reached over plain HTTP (${url}): use https://`];
    }
  }
  return [];
}
