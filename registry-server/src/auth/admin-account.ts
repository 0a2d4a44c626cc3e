// The system administrator is a local user like the others, but its name and password come from
// the server's configuration (the deployment declares them): at every start the account is
// created or brought back to the configured password and administrator flag. A password changed
// through the API therefore lasts until the next restart; change it in the deployment instead.

import { ConflictError, type IdentityAreas } from "../metadata/identity-store.ts";

export async function ensureAdminAccount(
  identity: Pick<IdentityAreas, "users">,
  username: string,
  passwordHash: string,
): Promise<number> {
  const now = new Date();
  let existing = await identity.users.getByName(username);
  if (!existing) {
    try {
      const user = await identity.users.create(
        {
          username,
          email: "",
          realname: "system administrator",
          comment: "from the server configuration",
          passwordHash,
          sysadmin: true,
        },
        now,
      );
      return user.id;
    } catch (error) {
      // Another replica starting at the same moment created it first: bring that one in line.
      existing = error instanceof ConflictError ? await identity.users.getByName(username) : undefined;
      if (!existing) throw error;
    }
  }
  if (existing.passwordHash !== passwordHash || !existing.sysadmin) {
    await identity.users.update(existing.id, { passwordHash, sysadmin: true }, now);
  }
  return existing.id;
}
