// Harbor's artifact as the artifacts API returns it (the fields these pages read), and the small
// pure readings the pages make of it: platforms of an index, signed or not, SBOM or not, the
// vulnerability counts of its scan overview, and the paths between the portal and the API.

import { repositoryPath } from "../../api.ts";

export interface Platform {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
}

export interface Reference {
  readonly child_digest: string;
  readonly child_id?: number;
  readonly platform?: Platform;
}

export interface Tag {
  readonly id: number;
  readonly name: string;
  readonly push_time?: string;
  readonly pull_time?: string;
  readonly immutable?: boolean;
}

export interface Accessory {
  readonly id: number;
  readonly digest: string;
  readonly type: string;
  readonly size: number;
  readonly creation_time?: string;
}

export interface VulnerabilitySummary {
  readonly total?: number;
  readonly fixable?: number;
  readonly summary?: Readonly<Record<string, number>> | null;
}

export interface ScanOverview {
  readonly report_id?: string;
  readonly scan_status?: string;
  readonly severity?: string;
  readonly summary?: VulnerabilitySummary;
  readonly end_time?: string;
  readonly scanner?: { readonly name?: string; readonly version?: string };
}

export interface Artifact {
  readonly id: number;
  readonly type?: string;
  readonly media_type?: string;
  readonly manifest_media_type?: string;
  readonly artifact_type?: string;
  readonly digest: string;
  readonly size?: number;
  readonly push_time?: string;
  readonly pull_time?: string;
  readonly extra_attrs?: Readonly<Record<string, unknown>>;
  readonly references?: readonly Reference[] | null;
  readonly tags?: readonly Tag[] | null;
  readonly accessories?: readonly Accessory[] | null;
  readonly addition_links?: Readonly<Record<string, { href: string }>> | null;
  readonly scan_overview?: Readonly<Record<string, ScanOverview>> | null;
  readonly sbom_overview?: { readonly sbom_digest?: string; readonly scan_status?: string } | null;
}

/** One finding of Harbor's vulnerability report (`additions/vulnerabilities`). */
export interface Vulnerability {
  readonly id: string;
  readonly package?: string;
  readonly version?: string;
  readonly fix_version?: string;
  readonly severity?: string;
  readonly description?: string;
  readonly links?: readonly string[] | null;
}

export interface VulnerabilityReport {
  readonly generated_at?: string;
  readonly severity?: string;
  readonly vulnerabilities?: readonly Vulnerability[] | null;
  readonly scanner?: { readonly name?: string; readonly version?: string };
}

/** One entry of an image's build history (`additions/build_history`), as docker writes it. */
export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

/** The severities Harbor ranks, highest first (its report's spelling). */
export const SEVERITIES = ["Critical", "High", "Medium", "Low", "Unknown"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** cosign's accessory types (Harbor's `signature.cosign`) and notation's. */
const SIGNATURE_TYPES = new Set(["signature.cosign", "signature.notation"]);
/** Harbor's SBOM accessory type, and SBOM referrers as oras/syft attach them. */
const SBOM_TYPES = new Set(["harbor.sbom"]);

/** `sha256:0123…` shown as its first 12 hex digits, as Harbor's portal does. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(":");
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

export function platformText(platform: Platform | undefined): string {
  if (!platform) return "";
  const os = platform.os ?? "?";
  const arch = platform.architecture ?? "?";
  return `${os}/${arch}${platform.variant ? `/${platform.variant}` : ""}`;
}

/** An index's children's platforms; an image's own (its config's os/architecture). */
export function platformsOf(artifact: Artifact): string[] {
  const references = artifact.references ?? [];
  if (references.length > 0) return references.map((reference) => platformText(reference.platform)).filter(Boolean);
  const os = artifact.extra_attrs?.["os"];
  const architecture = artifact.extra_attrs?.["architecture"];
  return typeof os === "string" && typeof architecture === "string" ? [`${os}/${architecture}`] : [];
}

export function isSigned(artifact: Artifact): boolean {
  return (artifact.accessories ?? []).some((accessory) => SIGNATURE_TYPES.has(accessory.type));
}

export function isSbomAccessory(accessory: Accessory): boolean {
  return SBOM_TYPES.has(accessory.type) || /sbom|spdx|cyclonedx/i.test(accessory.type);
}

export function hasSbom(artifact: Artifact): boolean {
  return Boolean(artifact.sbom_overview?.sbom_digest) || (artifact.accessories ?? []).some(isSbomAccessory);
}

/** The vulnerability report's overview among those the server returned (one MIME type a scanner wrote). */
export function vulnerabilityOverview(artifact: Artifact): ScanOverview | undefined {
  const overviews = Object.entries(artifact.scan_overview ?? {});
  const vulnerability = overviews.find(([mime]) => mime.includes("vulnerability"));
  return (vulnerability ?? overviews[0])?.[1];
}

/** Counts by severity, in Harbor's order, leaving out those at zero. */
export function severityCounts(overview: ScanOverview | undefined): Array<{ severity: Severity; count: number }> {
  const counts = overview?.summary?.summary ?? {};
  return SEVERITIES.map((severity) => ({ severity, count: counts[severity] ?? 0 })).filter(({ count }) => count > 0);
}

/** The report among a vulnerabilities addition's reports (keyed by MIME type). */
export function reportOf(additions: Readonly<Record<string, VulnerabilityReport>> | undefined) {
  const entries = Object.entries(additions ?? {});
  return (entries.find(([mime]) => mime.includes("vulnerability")) ?? entries[0])?.[1];
}

/** Harbor's repository name without its project: what the API's paths take. */
export function nameInProject(projectName: string, repository: string): string {
  return repository.startsWith(`${projectName}/`) ? repository.slice(projectName.length + 1) : repository;
}

/** The API path of a repository's artifacts (the name double-encoded, as Harbor's paths want). */
export function artifactsApiPath(projectName: string, repository: string): string {
  return `/projects/${encodeURIComponent(projectName)}/repositories/${repositoryPath(nameInProject(projectName, repository))}/artifacts`;
}

/** The portal's pages of a repository and of an artifact (`repository` is Harbor's full name). */
export function repositoryHref(projectId: number | string, repository: string): string {
  return `/projects/${projectId}/repositories/${encodeURIComponent(repository)}`;
}

export function artifactHref(projectId: number | string, repository: string, digest: string): string {
  return `${repositoryHref(projectId, repository)}/artifacts/${encodeURIComponent(digest)}`;
}
