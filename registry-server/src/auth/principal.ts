// Who is calling: a local user (the system administrator among them) or a robot account, as
// established from credentials. Authorization works on these, never on raw credentials.

import type { IncomingMessage } from "node:http";
import type { RobotPermission } from "../metadata/identity-store.ts";

export type Principal =
  | { readonly kind: "user"; readonly userId: number; readonly username: string; readonly sysadmin: boolean }
  | {
      readonly kind: "robot";
      readonly robotId: number;
      readonly username: string;
      readonly level: "system" | "project";
      readonly projectId?: number;
      readonly permissions: readonly RobotPermission[];
    };

export function isSysadmin(principal: Principal | undefined): boolean {
  return principal?.kind === "user" && principal.sysadmin;
}

export interface Credentials {
  username: string;
  password: string;
}

/** Parses `Authorization: Basic …`; undefined when absent or malformed. */
export function basicCredentials(req: IncomingMessage): Credentials | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
