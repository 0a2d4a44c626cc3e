// A user's role in a project, managed through the Harbor-compatible API. Changing the project
// or the user replaces the membership; changing the role updates it. An existing membership is
// adopted when `adopt` is set.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, readInputs, createdId, expectStatus, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

export type ProjectRole = "projectAdmin" | "maintainer" | "developer" | "guest" | "limitedGuest";

export interface ProjectMemberArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** Project name. */
  project: pulumi.Input<string>;
  /** User name of a local user. */
  username: pulumi.Input<string>;
  /** Harbor's role, by name or by id (1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest). */
  role: pulumi.Input<ProjectRole | number>;
  /** Take over an existing membership of this user instead of failing. */
  adopt?: pulumi.Input<boolean>;
}

interface MemberInputs {
  connection: RegistryConnection;
  project: string;
  username: string;
  role: ProjectRole;
  adopt: boolean;
}

interface MemberOutputs extends MemberInputs {
  memberId: number;
}

const ROLE_IDS: Record<ProjectRole, number> = {
  projectAdmin: 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
  limitedGuest: 5,
};

function roleName(value: unknown): ProjectRole | undefined {
  if (typeof value === "string" && value in ROLE_IDS) return value as ProjectRole;
  const byId = Object.entries(ROLE_IDS).find(([, id]) => id === value);
  return byId?.[0] as ProjectRole | undefined;
}

/** Project names go in the path; the header keeps a numeric-looking name a name. */
const BY_NAME = { "X-Is-Resource-Name": "true" };

/**
 * Validates the known inputs; unknown ones (the connection in a preview, see ../unknowns.ts) are
 * passed on as they are and checked once known.
 */
export function checkMember(news: Record<string, unknown>): pulumi.dynamic.CheckResult<MemberInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const role = keepUnknown(news["role"], (value) => {
    const name = roleName(value);
    if (!name)
      failures.push({
        property: "role",
        reason: `expected one of ${Object.keys(ROLE_IDS).join(", ")} or 1-5, got ${JSON.stringify(value)}`,
      });
    return name ?? "guest";
  });
  for (const key of ["project", "username"] as const) {
    if (!isUnknown(news[key]) && (typeof news[key] !== "string" || news[key] === ""))
      failures.push({ property: key, reason: `expected a non-empty string, got ${JSON.stringify(news[key])}` });
  }
  const adopt = keepUnknown(news["adopt"] ?? false, (value) => {
    if (typeof value !== "boolean")
      failures.push({ property: "adopt", reason: `expected true or false, got ${JSON.stringify(value)}` });
    return value === true;
  });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      project: keepUnknown(news["project"], String),
      username: keepUnknown(news["username"], String),
      role,
      adopt,
    },
    failures,
  };
}

export const memberProvider: pulumi.dynamic.ResourceProvider<MemberInputs, MemberOutputs> = {
  async check(_olds, news) {
    return checkMember(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = (["project", "username"] as const).filter((key) => olds[key] !== news[key]);
    const changes =
      replaces.length > 0 ||
      olds.role !== news.role ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const path = `/projects/${inputs.project}/members`;
    const body = { role_id: ROLE_IDS[inputs.role], member_user: { username: inputs.username } };
    const reply = await apiRequest(inputs.connection, "POST", path, body, BY_NAME);
    let memberId: number;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(
          inputs.connection,
          "GET",
          `${path}?entityname=${encodeURIComponent(inputs.username)}&page_size=100`,
          undefined,
          BY_NAME,
        ),
        "adopting the membership",
        200,
      );
      const found = (list.body as Array<{ id: number; entity_name: string }>).find(
        (m) => m.entity_name === inputs.username,
      );
      if (!found) throw new Error(`${inputs.username} is not a member of ${inputs.project} after all`);
      memberId = found.id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `${path}/${memberId}`, { role_id: ROLE_IDS[inputs.role] }, BY_NAME),
        "adopting the membership",
        200,
      );
    } else {
      const what = `adding ${inputs.username} to ${inputs.project}${reply.status === 409 ? " (already a member: set adopt to take the membership over)" : ""}`;
      memberId = createdId(expectStatus(reply, what, 201), what);
    }
    return { id: `${inputs.project}/${memberId}`, outs: { ...inputs, memberId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(
      props.connection,
      "GET",
      `/projects/${props.project}/members/${props.memberId}`,
      undefined,
      BY_NAME,
    );
    if (reply.status === 404) return { id: "", props };
    expectStatus(reply, `reading the membership of ${props.username}`, 200);
    const live = reply.body as { entity_name: string; role_id: number };
    const inputs: MemberInputs = { ...props, username: live.entity_name, role: roleName(live.role_id) ?? props.role };
    return { id, props: { ...inputs, memberId: props.memberId }, inputs: readInputs<MemberOutputs>(inputs) };
  },

  async update(_id, olds, news) {
    const path = `/projects/${news.project}/members/${olds.memberId}`;
    expectStatus(
      await apiRequest(news.connection, "PUT", path, { role_id: ROLE_IDS[news.role] }, BY_NAME),
      `changing the role of ${news.username}`,
      200,
    );
    return { outs: { ...news, memberId: olds.memberId } };
  },

  async delete(_id, props) {
    const reply = await apiRequest(
      props.connection,
      "DELETE",
      `/projects/${props.project}/members/${props.memberId}`,
      undefined,
      BY_NAME,
    );
    expectStatus(reply, `removing ${props.username} from ${props.project}`, 200, 404);
  },
};

/** The provider, recording which stack declared the ProjectMember (./declaration.ts). */
const declaredMemberProvider = declaredProvider("member", (outs) => `${outs.project}/${outs.username}`, memberProvider);

/** A local user's role in a project. */
export class ProjectMember extends pulumi.dynamic.Resource {
  declare readonly memberId: pulumi.Output<number>;

  constructor(name: string, args: ProjectMemberArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredMemberProvider,
      name,
      {
        declaration: declaredBy(name, "ProjectMember", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        memberId: undefined,
      },
      opts,
      "registry",
      "ProjectMember",
    );
  }
}
