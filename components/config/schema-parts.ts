// Small pieces the stack configuration's sections share: names, quantities, CIDRs, PEM, log
// levels. Each section of the schema lives in its own module beside this one.

import { z } from "zod";
import { isCidr } from "../network/network-zones";
import { PROJECT_NAME, PROJECT_NAME_MAX_LENGTH, PROJECT_NAME_RULE } from "../project-name";

export { LOG_LEVELS } from "../server-config/server-settings";

export const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
    "expected a DNS name",
  );

export const namespaceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a namespace name (lowercase letters, digits, -)");

export const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "expected a Kubernetes object name (lowercase, digits, - and .)");

export const quantity = z
  .string()
  .regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?$/, "expected a quantity, e.g. 500m, 2, 512Mi, 100Gi");

export const cidr = z.string().refine((value) => isCidr(value), "expected a CIDR, e.g. 10.0.0.0/16");

export const pem = z.string().includes("-----BEGIN CERTIFICATE-----", { error: "expected PEM certificate(s)" });

export const projectName = z.string().max(PROJECT_NAME_MAX_LENGTH).regex(PROJECT_NAME, `expected ${PROJECT_NAME_RULE}`);

/** A robot's short name: the project-name rule without its length limit. */
export const robotName = z.string().regex(PROJECT_NAME, `expected ${PROJECT_NAME_RULE}`);

/** A provider check's property, "cveAllowlist.items[2]", as a schema path: ["cveAllowlist", "items", 2]. */
export function pathOf(property: string): Array<string | number> {
  return property
    .split(/[.[\]]/)
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/**
 * A provider check's failures as the schema's issues (under `prefix`), so that a stack is refused
 * before `up` for what the provider would refuse, naming the same key.
 */
export function providerIssues(
  ctx: z.RefinementCtx,
  prefix: Array<string | number> = [],
): (property: string, reason: string) => void {
  return (property, reason) =>
    ctx.addIssue({
      code: "custom",
      path: [...prefix, ...pathOf(property.replace(/ \(key \d+\)$/, ""))],
      message: reason,
    });
}
