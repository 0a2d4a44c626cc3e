// One artifact: its facts (digest, media types, size, times, an index's platforms with links to
// each image), pull commands by tag and by digest, its tags (added and deleted by those allowed),
// its build history, the vulnerabilities of its last scan with those the allowlist in force lets
// through marked, its accessories (signatures, SBOMs, attestations) and its SBOM's contents.

import { useState } from "preact/hooks";
import { del, get, post, request } from "../../api.ts";
import { CopyButton } from "../../components/copy-button.tsx";
import { DataTable } from "../../components/data-table.tsx";
import { ConfirmDialog, Dialog } from "../../components/dialog.tsx";
import { Field } from "../../components/field.tsx";
import { ErrorMessage, Loading, errorText } from "../../components/status.tsx";
import { useResource } from "../../hooks/use-resource.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "../projects/project-frame.tsx";
import type { Project } from "../projects/project-types.ts";
import { ARTIFACT_LIST_QUERY } from "./artifacts-page.tsx";
import { projectAbilities, type ProjectAbilities } from "../projects/project-abilities.ts";
import { contentMessages } from "./content-messages.ts";
import {
  ContentBreadcrumb,
  SbomMark,
  SignedMark,
  VulnerabilityBadges,
  severityClass,
  useSeverityName,
} from "./content-parts.tsx";
import { PullCommands } from "./pull-commands.tsx";
import {
  artifactHref,
  artifactsApiPath,
  platformText,
  platformsOf,
  reportOf,
  shortDigest,
  vulnerabilityOverview,
  type Accessory,
  type Artifact,
  type HistoryEntry,
  type VulnerabilityReport,
} from "./content-types.ts";

/** Accessories whose own artifact is read for its artifact type (an SPDX referrer, an attestation). */
const MAX_ACCESSORY_LOOKUPS = 20;

export function ArtifactPage({
  projectId,
  repository,
  reference,
}: {
  projectId: string;
  repository: string;
  reference: string;
}) {
  return (
    <ProjectFrame projectId={projectId} title={`${repository}@${shortDigest(reference)}`}>
      {(project) => <ArtifactView project={project} repository={repository} reference={reference} />}
    </ProjectFrame>
  );
}

function ArtifactView({ project, repository, reference }: { project: Project; repository: string; reference: string }) {
  const t = useT(contentMessages);
  const user = useUser();
  const may = projectAbilities(user, project);
  const base = `${artifactsApiPath(project.name, repository)}/${encodeURIComponent(reference)}`;
  const artifact = useResource((signal) => get<Artifact>(base, ARTIFACT_LIST_QUERY, signal), [base]);
  const data = artifact.data;
  return (
    <>
      <ContentBreadcrumb projectId={project.project_id} repository={repository} digest={reference} />
      <h2>{t("artifactTitle", { digest: shortDigest(reference) })}</h2>
      {artifact.error !== undefined && <ErrorMessage error={artifact.error} retry={artifact.reload} />}
      {artifact.loading && !data && <Loading />}
      {data && (
        <>
          <Summary project={project} repository={repository} artifact={data} />
          <PullCommands repository={repository} artifact={data} />
          <Tags base={base} artifact={data} may={may} reload={artifact.reload} />
          <History base={base} artifact={data} />
          <Vulnerabilities base={base} project={project} artifact={data} />
          <Accessories project={project} repository={repository} artifact={data} />
          <Sbom artifact={data} />
        </>
      )}
    </>
  );
}

function Summary({ project, repository, artifact }: { project: Project; repository: string; artifact: Artifact }) {
  const t = useT(contentMessages);
  const format = useFormat();
  const references = artifact.references ?? [];
  return (
    <section aria-labelledby="artifact-summary">
      <h3 id="artifact-summary">{t("summary")}</h3>
      <dl class="facts">
        <dt>{t("digest")}</dt>
        <dd>
          <code>{artifact.digest}</code> <CopyButton value={artifact.digest} label={t("copyDigest")} />
        </dd>
        <dt>{t("type")}</dt>
        <dd>{artifact.type ?? ""}</dd>
        <dt>{t("mediaType")}</dt>
        <dd>
          <code>{artifact.media_type ?? ""}</code>
        </dd>
        <dt>{t("manifestMediaType")}</dt>
        <dd>
          <code>{artifact.manifest_media_type ?? ""}</code>
        </dd>
        {artifact.artifact_type && (
          <>
            <dt>{t("artifactType")}</dt>
            <dd>
              <code>{artifact.artifact_type}</code>
            </dd>
          </>
        )}
        <dt>{t("size")}</dt>
        <dd>{format.bytes(artifact.size ?? 0)}</dd>
        <dt>{t("pushTime")}</dt>
        <dd>{format.dateTime(artifact.push_time)}</dd>
        <dt>{t("pullTime")}</dt>
        <dd>{format.dateTime(artifact.pull_time) || t("never")}</dd>
        <dt>{t("platforms")}</dt>
        <dd>{platformsOf(artifact).join(", ") || t("notAvailable")}</dd>
        <dt>{t("vulnerabilities")}</dt>
        <dd>
          <VulnerabilityBadges overview={vulnerabilityOverview(artifact)} />
        </dd>
        <dt>{t("signed")}</dt>
        <dd>
          <SignedMark artifact={artifact} />
        </dd>
        <dt>{t("sbom")}</dt>
        <dd>
          <SbomMark artifact={artifact} />
        </dd>
      </dl>
      {references.length > 0 && (
        <DataTable
          caption={t("platformsList")}
          rows={references}
          rowKey={(child) => child.child_digest}
          columns={[
            { header: t("platform"), cell: (child) => platformText(child.platform) || t("notAvailable") },
            {
              header: t("child"),
              cell: (child) =>
                child.child_id ? (
                  <Link href={artifactHref(project.project_id, repository, child.child_digest)}>
                    <code>{shortDigest(child.child_digest)}</code>
                  </Link>
                ) : (
                  <code>{shortDigest(child.child_digest)}</code>
                ),
            },
          ]}
        />
      )}
    </section>
  );
}

function Tags({
  base,
  artifact,
  may,
  reload,
}: {
  base: string;
  artifact: Artifact;
  may: ProjectAbilities;
  reload: () => void;
}) {
  const t = useT(contentMessages);
  const tc = useT(common);
  const format = useFormat();
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState("");
  const [addError, setAddError] = useState("");
  const [doomed, setDoomed] = useState<string | undefined>();
  const tags = artifact.tags ?? [];

  const add = async () => {
    setAddError("");
    try {
      await post(`${base}/tags`, { name: name.trim() });
      setAdding(false);
      setNotice(t("tagAdded", { tag: name.trim() }));
      setName("");
      reload();
    } catch (error) {
      setAddError(errorText(error));
    }
  };
  const remove = async (tag: string) => {
    setFailure(undefined);
    setNotice("");
    try {
      await del(`${base}/tags/${encodeURIComponent(tag)}`);
      setNotice(t("tagDeleted", { tag }));
      reload();
    } catch (error) {
      setFailure(error);
    }
  };

  return (
    <section aria-labelledby="artifact-tags">
      <h3 id="artifact-tags">{t("tags")}</h3>
      {may.addTag && (
        <div class="toolbar">
          <button type="button" onClick={() => setAdding(true)}>
            {t("addTag")}
          </button>
        </div>
      )}
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
      <DataTable
        caption={t("tagsList")}
        rows={tags}
        rowKey={(tag) => tag.id}
        empty={t("noTags")}
        columns={[
          {
            header: t("tagName"),
            cell: (tag) => (
              <>
                <code>{tag.name}</code> {tag.immutable && <span class="badge">{t("immutable")}</span>}
              </>
            ),
          },
          { header: t("pushTime"), cell: (tag) => format.dateTime(tag.push_time) },
          { header: t("pullTime"), cell: (tag) => format.dateTime(tag.pull_time) || t("never") },
          ...(may.deleteTag
            ? [
                {
                  header: t("actions"),
                  cell: (tag: { name: string }) => (
                    <button
                      type="button"
                      class="danger"
                      aria-label={t("deleteTag", { tag: tag.name })}
                      onClick={() => setDoomed(tag.name)}
                    >
                      {tc("delete")}
                    </button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Dialog open={adding} title={t("addTag")} onClose={() => setAdding(false)}>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void add();
          }}
        >
          <Field label={t("newTag")} {...(addError && { error: addError })}>
            {(control) => (
              <input
                {...control}
                type="text"
                required
                maxLength={128}
                value={name}
                onInput={(event) => setName(event.currentTarget.value)}
              />
            )}
          </Field>
          <div class="actions">
            <button type="button" onClick={() => setAdding(false)}>
              {tc("cancel")}
            </button>
            <button type="submit" class="primary">
              {t("addTag")}
            </button>
          </div>
        </form>
      </Dialog>
      <ConfirmDialog
        open={doomed !== undefined}
        title={t("deleteTagTitle", { tag: doomed ?? "" })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setDoomed(undefined)}
        onConfirm={() => {
          const tag = doomed;
          setDoomed(undefined);
          if (tag !== undefined) void remove(tag);
        }}
      >
        <p>{t("deleteTagText", { tag: doomed ?? "" })}</p>
      </ConfirmDialog>
    </section>
  );
}

/** The image's build history: each step, and whether it made a layer (numbered in order). */
function History({ base, artifact }: { base: string; artifact: Artifact }) {
  const t = useT(contentMessages);
  const format = useFormat();
  const linked = artifact.addition_links?.["build_history"] !== undefined;
  const history = useResource(
    async (signal) => (linked ? get<HistoryEntry[] | null>(`${base}/additions/build_history`, {}, signal) : null),
    [base, linked],
  );
  let layer = 0;
  const rows = (history.data ?? []).map((entry, index) => ({
    entry,
    index,
    layer: entry.empty_layer ? undefined : ++layer,
  }));
  return (
    <section aria-labelledby="artifact-history">
      <h3 id="artifact-history">
        {t("layers")} · {t("history")}
      </h3>
      {!linked && <p class="muted">{(artifact.references ?? []).length > 0 ? t("noLayers") : t("notAvailable")}</p>}
      {history.error !== undefined && <ErrorMessage error={history.error} retry={history.reload} />}
      {linked && history.loading && !history.data && <Loading />}
      {linked && history.data !== undefined && (
        <DataTable
          caption={t("historyList")}
          rows={rows}
          rowKey={(row) => row.index}
          columns={[
            {
              header: t("layers"),
              numeric: true,
              cell: (row) => (row.layer === undefined ? <span class="muted">{t("emptyLayer")}</span> : row.layer),
            },
            { header: t("created"), cell: (row) => format.dateTime(row.entry.created) },
            {
              header: t("createdBy"),
              cell: (row) => <code>{row.entry.created_by ?? row.entry.comment ?? ""}</code>,
            },
          ]}
        />
      )}
    </section>
  );
}

interface AllowlistJson {
  readonly items?: ReadonlyArray<{ readonly cve_id: string }> | null;
  readonly expires_at?: number;
}

interface ProjectDetail {
  readonly metadata?: Readonly<Record<string, string | undefined>>;
  readonly cve_allowlist?: AllowlistJson;
}

function allowedIds(list: AllowlistJson | undefined): Set<string> {
  if (!list || (list.expires_at !== undefined && list.expires_at * 1000 <= Date.now())) return new Set();
  return new Set((list.items ?? []).map((item) => item.cve_id));
}

function Vulnerabilities({ base, project, artifact }: { base: string; project: Project; artifact: Artifact }) {
  const t = useT(contentMessages);
  const format = useFormat();
  const severityName = useSeverityName();
  const overview = vulnerabilityOverview(artifact);
  const scanned = overview?.scan_status === "Success";
  const report = useResource(
    async (signal) => {
      if (!scanned) return undefined;
      const reports = await get<Record<string, VulnerabilityReport>>(`${base}/additions/vulnerabilities`, {}, signal);
      // The allowlist in force: the system's when the project reuses it, else the project's own.
      const detail = (project as ProjectDetail).metadata?.["reuse_sys_cve_allowlist"] === "true";
      const allowlist = detail
        ? await get<AllowlistJson>("/system/CVEAllowlist", {}, signal)
        : (project as ProjectDetail).cve_allowlist;
      return { report: reportOf(reports), allowed: allowedIds(allowlist), system: detail };
    },
    [base, scanned],
  );
  const findings = report.data?.report?.vulnerabilities ?? [];
  return (
    <section aria-labelledby="artifact-vulnerabilities">
      <h3 id="artifact-vulnerabilities">{t("vulnerabilities")}</h3>
      {!overview && <p class="muted">{t("notScannedText")}</p>}
      {overview && !scanned && <VulnerabilityBadges overview={overview} />}
      {report.error !== undefined && <ErrorMessage error={report.error} retry={report.reload} />}
      {scanned && report.loading && !report.data && <Loading />}
      {report.data && (
        <>
          <p>
            {t("scannedBy", {
              scanner: overview?.scanner?.name ?? "?",
              time: format.dateTime(overview?.end_time ?? report.data.report?.generated_at),
            })}
          </p>
          <DataTable
            caption={t("vulnerabilityList")}
            rows={findings.map((finding, index) => ({ ...finding, index }))}
            rowKey={(finding) => finding.index}
            empty={t("noFindings")}
            columns={[
              { header: t("vulnerabilityId"), cell: (finding) => <code>{finding.id}</code> },
              { header: t("package"), cell: (finding) => finding.package ?? "" },
              { header: t("version"), cell: (finding) => finding.version ?? "" },
              { header: t("fixedVersion"), cell: (finding) => finding.fix_version ?? "" },
              {
                header: t("severity"),
                cell: (finding) => (
                  <span class={severityClass(finding.severity ?? "Unknown")}>
                    {severityName(finding.severity ?? "Unknown")}
                  </span>
                ),
              },
              {
                header: t("allowed"),
                cell: (finding) =>
                  report.data?.allowed.has(finding.id) ? (
                    <span class="badge badge-ok">
                      {t("allowedMark", { list: report.data.system ? t("systemList") : t("projectList") })}
                    </span>
                  ) : (
                    ""
                  ),
              },
            ]}
          />
        </>
      )}
    </section>
  );
}

function Accessories({ project, repository, artifact }: { project: Project; repository: string; artifact: Artifact }) {
  const t = useT(contentMessages);
  const format = useFormat();
  const accessories = artifact.accessories ?? [];
  const path = artifactsApiPath(project.name, repository);
  // Harbor's accessory says "subject.accessory" for any referrer: its own artifact says what it is.
  const kinds = useResource(
    async (signal) => {
      const found = new Map<string, string>();
      for (const accessory of accessories.slice(0, MAX_ACCESSORY_LOOKUPS)) {
        if (accessory.type !== "subject.accessory") continue;
        const own = await get<Artifact>(
          `${path}/${encodeURIComponent(accessory.digest)}`,
          { with_tag: false, with_accessory: false },
          signal,
        ).catch(() => undefined);
        if (own?.artifact_type) found.set(accessory.digest, own.artifact_type);
      }
      return found;
    },
    [path, accessories.map((accessory) => accessory.digest).join(",")],
  );
  return (
    <section aria-labelledby="artifact-accessories">
      <h3 id="artifact-accessories">{t("accessories")}</h3>
      <DataTable
        caption={t("accessoriesList")}
        rows={accessories}
        rowKey={(accessory: Accessory) => accessory.digest}
        empty={t("noAccessories")}
        columns={[
          {
            header: t("accessoryType"),
            cell: (accessory) => (
              <>
                {accessory.type}
                {kinds.data?.get(accessory.digest) && (
                  <>
                    {" "}
                    <code>{kinds.data.get(accessory.digest)}</code>
                  </>
                )}
              </>
            ),
          },
          {
            header: t("digest"),
            cell: (accessory) => (
              <Link href={artifactHref(project.project_id, repository, accessory.digest)}>
                <code>{shortDigest(accessory.digest)}</code>
              </Link>
            ),
          },
          { header: t("size"), numeric: true, cell: (accessory) => format.bytes(accessory.size) },
          { header: t("created"), cell: (accessory) => format.dateTime(accessory.creation_time) },
        ]}
      />
    </section>
  );
}

/** The SBOM's document when the server serves it (Harbor's `sbom` addition): its name and packages. */
function Sbom({ artifact }: { artifact: Artifact }) {
  const t = useT(contentMessages);
  const href = artifact.addition_links?.["sbom"]?.href;
  const sbom = useResource(
    async (signal) => {
      if (!href) return undefined;
      const reply = await request<Record<string, unknown>>("GET", href, { raw: true, signal });
      return reply.data;
    },
    [href],
  );
  if (!href) return null;
  const packages = Array.isArray(sbom.data?.["packages"])
    ? (sbom.data["packages"] as unknown[])
    : Array.isArray(sbom.data?.["components"])
      ? (sbom.data["components"] as unknown[])
      : [];
  return (
    <section aria-labelledby="artifact-sbom">
      <h3 id="artifact-sbom">{t("sbomContent")}</h3>
      {sbom.error !== undefined && <ErrorMessage error={sbom.error} retry={sbom.reload} />}
      {sbom.data && (
        <p>
          {typeof sbom.data["name"] === "string" && <code>{sbom.data["name"]}</code>}{" "}
          {t("sbomPackages", { count: packages.length })}
        </p>
      )}
    </section>
  );
}
