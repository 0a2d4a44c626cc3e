// The DMZ guide's reason for a registry: only scanned, signed images reach production. So a
// production project refuses vulnerable pulls (`preventVulnerable`, a severity) and unsigned ones
// (`requireSignature`). Production is recognised by name, as the pack recognises the production
// zone's namespaces: a project named in `productionProjects` (default `["production"]`). Project
// and proxy-cache project resources both count: a production proxy cache is production too.

import { asRecord, isOf, type PolicySubject } from "./policy-subject";

export interface ProductionProjectConfig {
  /** Names of the production projects. Default `["production"]`. */
  productionProjects?: string[];
}

export const DEFAULT_PRODUCTION_PROJECTS = ["production"];

/** Whether the project's inputs (or the metadata of a state written before them) set the key on. */
function setting(props: Record<string, unknown>, input: string, metadataKey: string): unknown {
  const value = props[input];
  if (value !== undefined) return value;
  const metadata = asRecord(props["metadata"]) ?? {};
  return metadata[metadataKey] === "true" ? true : undefined;
}

/** Why the resource is a production project with an open gate; [] when it is not one. */
export function productionWithoutGate(subject: PolicySubject, config: ProductionProjectConfig = {}): string[] {
  if (!isOf(subject, "registryProject")) return [];
  const name = subject.props["name"];
  const production = config.productionProjects ?? DEFAULT_PRODUCTION_PROJECTS;
  if (typeof name !== "string" || !production.includes(name)) return [];
  const messages: string[] = [];
  const severity = setting(subject.props, "preventVulnerable", "prevent_vul");
  if (severity === undefined || severity === false || severity === "none") {
    messages.push(
      `production project ${name} lets vulnerable images be pulled: set preventVulnerable to a severity (e.g. high)`,
    );
  }
  if (setting(subject.props, "requireSignature", "enable_content_trust_cosign") !== true) {
    messages.push(
      `production project ${name} lets unsigned images be pulled: set requireSignature: true (and the CI's trustedKeys)`,
    );
  }
  return messages;
}
