// A local user of the registry, managed through the Harbor-compatible API. The password is a
// secret input; the registry cannot give it back, so it is set again whenever it or
// `passwordVersion` changes. An existing user of the same name is adopted when `adopt` is set.
//
// Dynamic provider rules apply (see components/README.md).

import * as pulumi from "@pulumi/pulumi";
import { isUnknown, keepUnknown } from "../unknowns";
import { apiRequest, readInputs, createdId, expectStatus, type RegistryConnection } from "./api-client";
import { declaredBy, declaredProvider } from "./declaration";

export interface UserArgs {
  /** The registry to manage (from RegistryServer's `connection`); a secret. */
  connection: pulumi.Input<RegistryConnection>;
  /** The login name; changing it replaces the user. */
  username: pulumi.Input<string>;
  /** 8 to 128 characters with an upper case letter, a lower case letter and a digit. */
  password: pulumi.Input<string>;
  /** Change to set the password again (after someone changed it by hand). */
  passwordVersion?: pulumi.Input<number>;
  /** E-mail address. Default empty. */
  email?: pulumi.Input<string>;
  /** Full name shown in the registry. Default empty. */
  realname?: pulumi.Input<string>;
  /** Free text. Default empty. */
  comment?: pulumi.Input<string>;
  /** Take over an existing user of the same name instead of failing (its password is set). */
  adopt?: pulumi.Input<boolean>;
}

interface UserInputs {
  connection: RegistryConnection;
  username: string;
  password: string;
  passwordVersion: number;
  email: string;
  realname: string;
  comment: string;
  adopt: boolean;
}

interface UserOutputs extends UserInputs {
  userId: number;
}

function acceptablePassword(password: unknown): boolean {
  return (
    typeof password === "string" &&
    password.length >= 8 &&
    password.length <= 128 &&
    /[A-Z]/.test(password) &&
    /[a-z]/.test(password) &&
    /\d/.test(password)
  );
}

async function setPassword(inputs: UserInputs, userId: number): Promise<void> {
  const reply = await apiRequest(inputs.connection, "PUT", `/users/${userId}/password`, {
    new_password: inputs.password,
  });
  expectStatus(reply, `setting the password of ${inputs.username}`, 200);
}

function profile(inputs: UserInputs): Record<string, string> {
  return { email: inputs.email, realname: inputs.realname, comment: inputs.comment };
}

/**
 * Validates the known inputs; unknown ones (the connection in a preview, see ../unknowns.ts) are
 * passed on as they are and checked once known.
 */
export function checkUser(news: Record<string, unknown>): pulumi.dynamic.CheckResult<UserInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const username = news["username"];
  if (
    !isUnknown(username) &&
    (typeof username !== "string" || !/^[^,"~#$%:\s]{1,255}$/.test(username) || username.startsWith("robot$"))
  ) {
    failures.push({
      property: "username",
      reason: 'expected 1 to 255 characters, no spaces, none of , " ~ # $ % :, not starting with robot$',
    });
  }
  if (!isUnknown(news["password"]) && !acceptablePassword(news["password"])) {
    failures.push({
      property: "password",
      reason: "expected 8 to 128 characters with an upper case letter, a lower case letter and a digit",
    });
  }
  const email = keepUnknown(news["email"] ?? "", (value) => {
    if (typeof value !== "string" || (value !== "" && !/^[^@\s]+@[^@\s]+$/.test(value))) {
      failures.push({ property: "email", reason: "expected an email address" });
      return "";
    }
    return value;
  });
  const text = (key: "realname" | "comment"): string =>
    keepUnknown(news[key] ?? "", (value) => {
      if (typeof value === "string") return value;
      failures.push({ property: key, reason: `expected a string, got ${JSON.stringify(value)}` });
      return "";
    });
  const passwordVersion = keepUnknown(news["passwordVersion"] ?? 1, (value) => {
    if (typeof value === "number" && Number.isInteger(value)) return value;
    failures.push({ property: "passwordVersion", reason: `expected a whole number, got ${JSON.stringify(value)}` });
    return 1;
  });
  const adopt = keepUnknown(news["adopt"] ?? false, (value) => {
    if (typeof value !== "boolean")
      failures.push({ property: "adopt", reason: `expected true or false, got ${JSON.stringify(value)}` });
    return value === true;
  });
  return {
    inputs: {
      connection: news["connection"] as RegistryConnection,
      username: keepUnknown(username, String),
      password: keepUnknown(news["password"], String),
      passwordVersion,
      email,
      realname: text("realname"),
      comment: text("comment"),
      adopt,
    },
    failures,
  };
}

export const userProvider: pulumi.dynamic.ResourceProvider<UserInputs, UserOutputs> = {
  async check(_olds, news) {
    return checkUser(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    const replaces = olds.username !== news.username ? ["username"] : [];
    const keys = ["password", "passwordVersion", "email", "realname", "comment"] as const;
    const changes =
      replaces.length > 0 ||
      keys.some((key) => olds[key] !== news[key]) ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const reply = await apiRequest(inputs.connection, "POST", "/users", {
      username: inputs.username,
      password: inputs.password,
      ...profile(inputs),
    });
    let userId: number;
    if (reply.status === 409 && inputs.adopt) {
      const list = expectStatus(
        await apiRequest(
          inputs.connection,
          "GET",
          `/users/search?username=${encodeURIComponent(inputs.username)}&page_size=100`,
        ),
        "adopting the user",
        200,
      );
      const found = (list.body as Array<{ user_id: number; username: string }>).find(
        (u) => u.username === inputs.username,
      );
      if (!found) throw new Error(`user ${inputs.username} conflicts but cannot be found (an email in use?)`);
      userId = found.user_id;
      expectStatus(
        await apiRequest(inputs.connection, "PUT", `/users/${userId}`, profile(inputs)),
        "adopting the user",
        200,
      );
      await setPassword(inputs, userId);
    } else {
      const what = `creating user ${inputs.username}${reply.status === 409 ? " (name or email taken: set adopt to take an existing user over)" : ""}`;
      userId = createdId(expectStatus(reply, what, 201), what);
    }
    return { id: String(userId), outs: { ...inputs, userId } };
  },

  async read(id, props) {
    if (!props) return { id, props };
    const reply = await apiRequest(props.connection, "GET", `/users/${id}`);
    if (reply.status === 404) return { id: "", props };
    const live = expectStatus(reply, `reading user ${props.username}`, 200).body as {
      username: string;
      email: string;
      realname: string;
      comment: string;
    };
    const inputs: UserInputs = {
      ...props,
      username: live.username,
      email: live.email,
      realname: live.realname,
      comment: live.comment,
    };
    return { id, props: { ...inputs, userId: Number(id) }, inputs: readInputs<UserOutputs>(inputs) };
  },

  async update(id, olds, news) {
    const userId = Number(id);
    expectStatus(
      await apiRequest(news.connection, "PUT", `/users/${userId}`, profile(news)),
      `updating user ${news.username}`,
      200,
    );
    if (olds.password !== news.password || olds.passwordVersion !== news.passwordVersion)
      await setPassword(news, userId);
    return { outs: { ...news, userId } };
  },

  async delete(id, props) {
    expectStatus(
      await apiRequest(props.connection, "DELETE", `/users/${id}`),
      `deleting user ${props.username}`,
      200,
      404,
    );
  },
};

/** The provider, recording which stack declared the User (./declaration.ts). */
const declaredUserProvider = declaredProvider("user", (outs) => outs.username, userProvider);

/** A local user of the registry. */
export class User extends pulumi.dynamic.Resource {
  declare readonly userId: pulumi.Output<number>;

  constructor(name: string, args: UserArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      declaredUserProvider,
      name,
      {
        declaration: declaredBy(name, "User", opts),
        ...args,
        connection: pulumi.secret(args.connection),
        password: pulumi.secret(args.password),
        userId: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["password"] }),
      "registry",
      "User",
    );
  }
}
