// A project's policies, in three sections: its security settings, its tag immutability rules and
// its tag retention. Each shows what the user's role may change, and only that.

import { useT } from "../../i18n/i18n.tsx";
import { useUser } from "../../session.tsx";
import { ProjectFrame } from "../projects/project-frame.tsx";
import { projectsMessages } from "../projects/projects-messages.ts";
import { ImmutableRules } from "./immutable-rules.tsx";
import { projectAbilities } from "../projects/project-abilities.ts";
import { RetentionSection } from "./retention-section.tsx";
import { SecuritySettings, type ProjectWithAllowlist } from "./security-settings.tsx";
import "./policies.css";

export function PoliciesPage({ project, reload }: { project: ProjectWithAllowlist; reload: () => void }) {
  const can = projectAbilities(useUser(), project);
  return (
    <>
      <SecuritySettings project={project} editable={can.editSecurity} onSaved={reload} />
      <ImmutableRules project={project} editable={can.manageImmutability} />
      <RetentionSection project={project} editable={can.manageRetention} />
    </>
  );
}

/** The page inside its project's frame, for the routes table. */
export function PoliciesRoute({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("tabPolicies")}>
      {(project, reload) => <PoliciesPage project={project} reload={reload} />}
    </ProjectFrame>
  );
}
