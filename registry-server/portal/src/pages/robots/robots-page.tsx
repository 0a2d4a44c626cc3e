// A project's robot accounts (Harbor's /robots at project level): the list a page at a time with
// each robot's permissions, expiry and state; creating one, whose secret is shown once; a new
// secret (shown once too), disabling, enabling and deleting, each guarded when a Pulumi stack
// declared the robot. Only project administrators manage robots: others get the API's refusal.

import { useState } from "preact/hooks";
import { del, patch, put } from "../../api.ts";
import { DeclaredMark, useDeclaredGuard, useDeclarations } from "../../components/declared-by.tsx";
import { ConfirmDialog } from "../../components/dialog.tsx";
import { PagedTable } from "../../components/paged-table.tsx";
import { ErrorMessage } from "../../components/status.tsx";
import { usePagedList } from "../../hooks/use-paged-list.ts";
import { useRowAction } from "../../hooks/use-row-action.ts";
import { common } from "../../i18n/common.ts";
import { useFormat, useT } from "../../i18n/i18n.tsx";
import { useUser } from "../../session.tsx";
import { projectAbilities } from "../projects/project-abilities.ts";
import { ProjectFrame } from "../projects/project-frame.tsx";
import type { Project } from "../projects/project-types.ts";
import { projectsMessages } from "../projects/projects-messages.ts";
import { RobotCreateDialog } from "./robot-create-dialog.tsx";
import { RobotSecretDialog } from "./robot-secret-dialog.tsx";
import { grantsByResource, isExpired, type Robot, type RobotSecret } from "./robot-types.ts";
import { robotsMessages, type RobotsMessage } from "./robots-messages.ts";
import "./robots.css";

export function RobotsPage({ project }: { project: Project }) {
  const t = useT(robotsMessages);
  const user = useUser();
  const can = projectAbilities(user, project);
  const robots = usePagedList<Robot>("/robots", () => ({ q: `Level=project,ProjectID=${project.project_id}` }), [
    project.project_id,
  ]);
  const declarations = useDeclarations("robot", [robots.data]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<RobotSecret | undefined>();
  const [actionError, setActionError] = useState<unknown>();

  const showSecret = (shown: RobotSecret) => {
    setCreating(false);
    setSecret(shown);
    robots.reload();
  };

  return (
    <section aria-labelledby="robots-heading">
      <h2 id="robots-heading">{t("title")}</h2>
      <p>{t("intro")}</p>
      {can.manageRobots && (
        <div class="toolbar">
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            {t("newRobot")}
          </button>
        </div>
      )}
      {actionError !== undefined && <ErrorMessage error={actionError} />}
      <PagedTable
        list={robots}
        caption={t("listLabel")}
        rowKey={(robot) => robot.id}
        empty={t("noRobots")}
        columns={[
          {
            header: t("name"),
            cell: (robot) => (
              <>
                <code>{robot.name}</code> <DeclaredMark declaration={declarations.data?.get(robot.name)} />
              </>
            ),
          },
          { header: t("status"), cell: (robot) => <RobotStatus robot={robot} /> },
          { header: t("permissions"), cell: (robot) => <PermissionSummary robot={robot} /> },
          { header: t("expires"), cell: (robot) => <RobotExpiry robot={robot} /> },
          { header: t("description"), cell: (robot) => robot.description ?? "" },
          ...(can.manageRobots
            ? [
                {
                  header: t("actions"),
                  cell: (robot: Robot) => (
                    <RobotActions
                      robot={robot}
                      onSecret={setSecret}
                      onChanged={() => {
                        setActionError(undefined);
                        robots.reload();
                      }}
                      onError={setActionError}
                    />
                  ),
                },
              ]
            : []),
        ]}
      />
      {can.manageRobots && (
        <RobotCreateDialog
          open={creating}
          project={project.name}
          onClose={() => setCreating(false)}
          onCreated={showSecret}
        />
      )}
      <RobotSecretDialog secret={secret} onClose={() => setSecret(undefined)} />
    </section>
  );
}

/** The page inside its project's frame, for the routes table. */
export function RobotsRoute({ projectId }: { projectId: string }) {
  const t = useT(projectsMessages);
  return (
    <ProjectFrame projectId={projectId} title={t("tabRobots")}>
      {(project) => <RobotsPage project={project} />}
    </ProjectFrame>
  );
}

function RobotStatus({ robot }: { robot: Robot }) {
  const t = useT(robotsMessages);
  if (isExpired(robot, Date.now() / 1000)) return <span class="badge badge-high">{t("expired")}</span>;
  return robot.disable ? (
    <span class="badge">{t("disabled")}</span>
  ) : (
    <span class="badge badge-ok">{t("enabled")}</span>
  );
}

function RobotExpiry({ robot }: { robot: Robot }) {
  const t = useT(robotsMessages);
  const format = useFormat();
  if (robot.expires_at === -1) return <>{t("never")}</>;
  return <>{format.dateTime(new Date(robot.expires_at * 1000).toISOString())}</>;
}

function PermissionSummary({ robot }: { robot: Robot }) {
  const t = useT(robotsMessages);
  const byResource = grantsByResource(robot.permissions);
  const label = (key: string) => {
    const message = key as RobotsMessage;
    return message in robotsMessages.en ? t(message) : key.replace(/^(resource|action)_/, "");
  };
  return (
    <ul class="robot-permissions">
      {[...byResource].map(([resource, actions]) => (
        <li key={resource}>
          {label(`resource_${resource}`)}: {actions.map((action) => label(`action_${action}`).toLowerCase()).join(", ")}
        </li>
      ))}
    </ul>
  );
}

type Pending = "refresh" | "delete" | undefined;

function RobotActions({
  robot,
  onSecret,
  onChanged,
  onError,
}: {
  robot: Robot;
  onSecret: (secret: RobotSecret) => void;
  onChanged: () => void;
  onError: (error: unknown) => void;
}) {
  const t = useT(robotsMessages);
  const tc = useT(common);
  const { guard, dialog } = useDeclaredGuard("robot", robot.name);
  const [confirming, setConfirming] = useState<Pending>();
  const { busy, run } = useRowAction(onChanged, onError);
  const path = `/robots/${robot.id}`;

  const refresh = () =>
    run(async () => {
      // Harbor's PATCH with an empty body makes a new secret and answers it, once.
      const reply = await patch<{ secret: string }>(path, {});
      onSecret({ name: robot.name, secret: reply.data.secret });
    });
  const toggle = () =>
    run(async () => {
      await put(path, {
        name: robot.name,
        description: robot.description ?? "",
        level: robot.level,
        duration: robot.duration,
        disable: !robot.disable,
        permissions: robot.permissions,
      });
    });
  const remove = () =>
    run(async () => {
      await del(path);
    });
  const forRobot = <span class="visually-hidden"> {t("forRobot", { name: robot.name })}</span>;

  return (
    <div class="robot-actions">
      <button type="button" disabled={busy} onClick={() => setConfirming("refresh")}>
        {t("refreshSecret")}
        {forRobot}
      </button>
      <button type="button" disabled={busy} onClick={() => guard(() => void toggle())}>
        {robot.disable ? t("enable") : t("disable")}
        {forRobot}
      </button>
      <button type="button" class="danger" disabled={busy} onClick={() => setConfirming("delete")}>
        {tc("delete")}
        {forRobot}
      </button>
      <ConfirmDialog
        open={confirming === "refresh"}
        title={t("refreshTitle", { name: robot.name })}
        confirmLabel={t("refreshConfirm")}
        onCancel={() => setConfirming(undefined)}
        onConfirm={() => {
          setConfirming(undefined);
          guard(() => void refresh());
        }}
      >
        <p>{t("refreshText")}</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirming === "delete"}
        title={t("deleteTitle", { name: robot.name })}
        confirmLabel={tc("delete")}
        danger
        onCancel={() => setConfirming(undefined)}
        onConfirm={() => {
          setConfirming(undefined);
          guard(() => void remove());
        }}
      >
        <p>{t("deleteText")}</p>
      </ConfirmDialog>
      {dialog}
    </div>
  );
}
