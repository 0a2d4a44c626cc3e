// The system administrator is a local user like the others, but its name and password come from
// the server's configuration (the deployment declares them): at every start the account is
// created or brought back to the configured password and administrator flag. A password changed
// through the API therefore lasts until the next restart; change it in the deployment instead.

import type { IdentityAreas } from "../metadata/identity-store.ts";

export async function ensureAdminAccount(
  identity: Pick<IdentityAreas, "users">,
  username: string,
  passwordHash: string,
): Promise<number> {
  const now = new Date();
  const existing = await identity.users.getByName(username);
  if (!existing) {
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
  }
  if (existing.passwordHash !== passwordHash || !existing.sysadmin) {
    await identity.users.update(existing.id, { passwordHash, sysadmin: true }, now);
  }
  return existing.id;
}
