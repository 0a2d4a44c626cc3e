// Pull commands for an artifact, by its first tag and by digest, for the clients the DMZ guide's
// users run (docker, podman, skopeo, crane), with this registry's own host: the page's, since the
// portal is served by the registry it shows.

import { Fragment } from "preact";
import { CopyButton } from "../../components/copy-button.tsx";
import { useT } from "../../i18n/i18n.tsx";
import { contentMessages } from "./content-messages.ts";
import type { Artifact } from "./content-types.ts";

/** Where a command writes the copy: the repository's last segment, as a local name. */
function localName(repository: string): string {
  return (repository.split("/").pop() ?? "image").replace(/[^a-zA-Z0-9._-]/g, "_") || "image";
}

export function pullCommands(host: string, repository: string, reference: string): Array<[string, string]> {
  const separator = /^[a-z0-9]+:[a-f0-9]{32,}$/.test(reference) ? "@" : ":";
  const image = `${host}/${repository}${separator}${reference}`;
  const name = localName(repository);
  return [
    ["Docker", `docker pull ${image}`],
    ["Podman", `podman pull ${image}`],
    ["skopeo", `skopeo copy --all --preserve-digests docker://${image} oci:${name}`],
    ["crane", `crane pull ${image} ${name}.tar`],
  ];
}

export function PullCommands({ repository, artifact }: { repository: string; artifact: Artifact }) {
  const t = useT(contentMessages);
  const host = window.location.host;
  const tag = artifact.tags?.[0]?.name;
  const referenceName = (reference: string) => (reference === artifact.digest ? t("pullByDigest") : reference);
  const groups: Array<{ title: string; reference: string }> = [
    ...(tag ? [{ title: t("pullByTag", { tag }), reference: tag }] : []),
    { title: t("pullByDigest"), reference: artifact.digest },
  ];
  return (
    <section aria-labelledby="artifact-pull">
      <h3 id="artifact-pull">{t("pullCommands")}</h3>
      {!tag && <p class="muted">{t("pullNoTag")}</p>}
      {groups.map((group) => (
        <div key={group.reference}>
          <h4>{group.title}</h4>
          <dl class="pull-commands">
            {pullCommands(host, repository, group.reference).map(([tool, command]) => (
              <Fragment key={tool}>
                <dt>{tool}</dt>
                <dd>
                  <PullCommand
                    command={command}
                    label={t("pullCommandLabel", { tool, reference: referenceName(group.reference) })}
                    copyLabel={t("copyCommand", { tool, reference: referenceName(group.reference) })}
                  />
                </dd>
              </Fragment>
            ))}
          </dl>
        </div>
      ))}
    </section>
  );
}

/**
 * The command read-only (select-all on focus, for copying by hand) and its copy button, whose
 * name starts with the word it shows ("Copy…"), as a button's accessible name must.
 */
function PullCommand({ command, label, copyLabel }: { command: string; label: string; copyLabel: string }) {
  return (
    <span class="copy-field">
      <input
        type="text"
        readOnly
        value={command}
        aria-label={label}
        onFocus={(event) => event.currentTarget.select()}
      />
      <CopyButton value={command} label={copyLabel} />
    </span>
  );
}
