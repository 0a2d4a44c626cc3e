// A repository's artifacts, a page at a time from the server (a repository may hold 10,000): the
// digest, tags, type and platforms of an index's images, size, push and pull times, the
// vulnerabilities of the last scan, signed or not, SBOM; a search by tag; scanning and deleting
// for those the project's role allows.

import { useState } from "preact/hooks";
import { del, post } from "../../api.ts";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { SearchForm } from "../../components/search-form.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { Link } from "../../router.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "../projects/project-frame.tsx";
import type { Project } from "../projects/project-types.ts";
import { projectAbilities } from "../projects/project-abilities.ts";
import { contentMessages } from "./content-messages.ts";
import { ContentBreadcrumb, SbomMark, SignedMark, VulnerabilityBadges } from "./content-parts.tsx";
import {
  artifactHref,
  artifactsApiPath,
  platformsOf,
  shortDigest,
  vulnerabilityOverview,
  type Artifact,
} from "./content-types.ts";

/** What the list asks of each artifact, as Harbor's portal asks it. */
export const ARTIFACT_LIST_QUERY = {
  with_tag: true,
  with_label: false,
  with_scan_overview: true,
  with_sbom_overview: true,
  with_signature: true,
  with_immutable_status: true,
  with_accessory: true,
} as const;

export function ArtifactsPage({ projectId, repository }: { projectId: string; repository: string }) {
  const t = useT(contentMessages);
  return (
    <ProjectFrame projectId={projectId} title={repository}>
      {(project) => (
        <>
          <ContentBreadcrumb projectId={project.project_id} repository={repository} />
          <h2>{t("artifactsTitle", { repository })}</h2>
          <ArtifactList project={project} repository={repository} />
        </>
      )}
    </ProjectFrame>
  );
}

function ArtifactList({ project, repository }: { project: Project; repository: string }) {
  const t = useT(contentMessages);
  const tc = useT(common);
  const format = useFormat();
  const user = useUser();
  const may = projectAbilities(user, project);
  const path = artifactsApiPath(project.name, repository);
  const artifacts = usePagedList<Artifact>(path, (search) => ({
    ...ARTIFACT_LIST_QUERY,
    ...(search && { q: `tags=~${search}` }),
  }));
  const [notice, setNotice] = useState("");
  const [failure, setFailure] = useState<unknown>();
  const [doomed, setDoomed] = useState<Artifact | undefined>();

  const act = async (change: () => Promise<unknown>, done: string) => {
    setFailure(undefined);
    setNotice("");
    try {
      await change();
      setNotice(done);
      artifacts.reload();
    } catch (error) {
      setFailure(error);
    }
  };

  const columns = [
    {
      header: t("digest"),
      cell: (artifact: Artifact) => (
        <Link href={artifactHref(project.project_id, repository, artifact.digest)}>
          <code>{shortDigest(artifact.digest)}</code>
        </Link>
      ),
    },
    {
      header: t("tags"),
      cell: (artifact: Artifact) =>
        artifact.tags?.length ? (
          <ul class="tag-list">
            {artifact.tags.map((tag) => (
              <li key={tag.id}>
                <code>{tag.name}</code>
              </li>
            ))}
          </ul>
        ) : (
          <span class="muted">{t("noTags")}</span>
        ),
    },
    {
      header: t("typePlatforms"),
      cell: (artifact: Artifact) => (
        <>
          {artifact.type ?? ""}
          {platformsOf(artifact).length > 0 && (
            <ul class="tag-list">
              {platformsOf(artifact).map((platform) => (
                <li key={platform}>
                  <span class="badge">{platform}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      ),
    },
    { header: t("size"), numeric: true, cell: (artifact: Artifact) => format.bytes(artifact.size ?? 0) },
    { header: t("pushTime"), cell: (artifact: Artifact) => format.dateTime(artifact.push_time) },
    { header: t("pullTime"), cell: (artifact: Artifact) => format.dateTime(artifact.pull_time) || t("never") },
    {
      header: t("vulnerabilities"),
      cell: (artifact: Artifact) => <VulnerabilityBadges overview={vulnerabilityOverview(artifact)} />,
    },
    { header: t("signed"), cell: (artifact: Artifact) => <SignedMark artifact={artifact} /> },
    { header: t("sbom"), cell: (artifact: Artifact) => <SbomMark artifact={artifact} /> },
  ];
  if (may.scan || may.deleteArtifact) {
    columns.push({
      header: t("actions"),
      cell: (artifact: Artifact) => (
        <span class="cell-actions">
          {may.scan && (
            <button
              type="button"
              aria-label={t("scanFor", { digest: shortDigest(artifact.digest) })}
              onClick={() =>
                void act(
                  () => post(`${path}/${encodeURIComponent(artifact.digest)}/scan`),
                  t("scanStarted", { digest: shortDigest(artifact.digest) }),
                )
              }
            >
              {t("scan")}
            </button>
          )}
          {may.deleteArtifact && (
            <button
              type="button"
              class="danger"
              aria-label={t("deleteArtifactFor", { digest: shortDigest(artifact.digest) })}
              onClick={() => setDoomed(artifact)}
            >
              {tc("delete")}
            </button>
          )}
        </span>
      ),
    });
  }

  return (
    <>
      <SearchForm
        id="artifact-search"
        label={t("tagSearch")}
        search={artifacts.search}
        setSearch={artifacts.setSearch}
      />
      <p role="status" class="status">
        {notice}
      </p>
      {failure !== undefined && <ErrorMessage error={failure} />}
      <PagedTable
        list={artifacts}
        caption={t("artifactsList")}
        rowKey={(artifact) => artifact.id}
        empty={t("emptyArtifacts")}
        columns={columns}
      />
      <ConfirmDialog
        open={doomed !== undefined}
        title={t("deleteArtifactTitle")}
        confirmLabel={t("deleteArtifact")}
        danger
        onCancel={() => setDoomed(undefined)}
        onConfirm={() => {
          const artifact = doomed;
          setDoomed(undefined);
          if (artifact) {
            void act(
              () => del(`${path}/${encodeURIComponent(artifact.digest)}`),
              t("deleted", { digest: shortDigest(artifact.digest) }),
            );
          }
        }}
      >
        <p>
          {doomed &&
            t("deleteArtifactText", {
              digest: doomed.digest,
              tags: (doomed.tags ?? []).map((tag) => tag.name).join(", ") || t("noTags"),
            })}
        </p>
      </ConfirmDialog>
    </>
  );
}
