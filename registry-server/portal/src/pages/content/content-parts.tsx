// Pieces both content pages show: the breadcrumb back to the project's repositories, the
// vulnerability badges of a scan overview (counts in words, not only colours), and the marks for
// signed and SBOM.

import { Link } from "../../router.tsx";
import { useT } from "../../i18n/i18n.tsx";
import { contentMessages } from "./content-messages.ts";
import {
  hasSbom,
  isSbomAccessory,
  isSigned,
  repositoryHref,
  severityCounts,
  shortDigest,
  type Artifact,
  type ScanOverview,
  type Severity,
} from "./content-types.ts";
import "./content.css";

export function ContentBreadcrumb({
  projectId,
  repository,
  digest,
}: {
  projectId: number;
  repository: string;
  digest?: string;
}) {
  const t = useT(contentMessages);
  return (
    <nav aria-label={t("breadcrumb")} class="breadcrumb">
      <ol>
        <li>
          <Link href={`/projects/${projectId}/repositories`}>{t("repositories")}</Link>
        </li>
        <li>
          {digest ? (
            <Link href={repositoryHref(projectId, repository)}>{repository}</Link>
          ) : (
            <span aria-current="page">{repository}</span>
          )}
        </li>
        {digest && (
          <li>
            <span aria-current="page">{shortDigest(digest)}</span>
          </li>
        )}
      </ol>
    </nav>
  );
}

const SEVERITY_KEY = {
  Critical: "severityCritical",
  High: "severityHigh",
  Medium: "severityMedium",
  Low: "severityLow",
  Unknown: "severityUnknown",
} as const;

export function useSeverityName(): (severity: string) => string {
  const t = useT(contentMessages);
  return (severity) => {
    const key = SEVERITY_KEY[severity as Severity];
    return key ? t(key) : severity;
  };
}

export function severityClass(severity: string): string {
  return `badge badge-${severity.toLowerCase()}`;
}

/** "3 critical, 1 high…" as badges; "Not scanned", a scan still running, or "No vulnerabilities". */
export function VulnerabilityBadges({ overview }: { overview: ScanOverview | undefined }) {
  const t = useT(contentMessages);
  const name = useSeverityName();
  if (!overview) return <span class="badge">{t("notScanned")}</span>;
  if (overview.scan_status !== "Success") {
    return <span class="badge">{t("scanning", { status: overview.scan_status ?? "?" })}</span>;
  }
  const counts = severityCounts(overview);
  if (counts.length === 0) return <span class="badge badge-ok">{t("noVulnerabilities")}</span>;
  return (
    <span class="badges">
      {counts.map(({ severity, count }) => (
        <span key={severity} class={severityClass(severity)}>
          {t("severityCount", { count, severity: name(severity) })}
        </span>
      ))}
    </span>
  );
}

export function SignedMark({ artifact }: { artifact: Artifact }) {
  const t = useT(contentMessages);
  return isSigned(artifact) ? (
    <span class="badge badge-ok">{t("signedYes")}</span>
  ) : (
    <span class="muted">{t("signedNo")}</span>
  );
}

/** Harbor's SBOM accessory (or its SBOM overview); other referrers counted, their kind unknown here. */
export function SbomMark({ artifact }: { artifact: Artifact }) {
  const t = useT(contentMessages);
  if (hasSbom(artifact)) return <span class="badge badge-ok">{t("sbomYes")}</span>;
  const referrers = (artifact.accessories ?? []).filter(
    (accessory) => accessory.type === "subject.accessory" && !isSbomAccessory(accessory),
  ).length;
  return <span class="muted">{referrers > 0 ? t("referrers", { count: referrers }) : t("sbomNo")}</span>;
}
