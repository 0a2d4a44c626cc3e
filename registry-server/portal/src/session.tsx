// Who is signed in. The session itself is the server's HttpOnly cookie, out of the script's
// reach; the portal only asks the API who the cookie belongs to (Harbor's users/current).

import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, get, onUnauthorised, signIn as postSignIn, signOut as getSignOut } from "./api.ts";

/** Harbor's user as users/current returns it (the fields the portal reads). */
export interface CurrentUser {
  readonly user_id: number;
  readonly username: string;
  readonly email?: string;
  readonly realname?: string;
  readonly sysadmin_flag: boolean;
}

export type SessionState =
  | { readonly status: "loading" }
  | { readonly status: "signed-out"; readonly expired: boolean }
  | { readonly status: "signed-in"; readonly user: CurrentUser };

interface SessionValue {
  readonly state: SessionState;
  readonly signIn: (principal: string, password: string) => Promise<void>;
  readonly signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | undefined>(undefined);

async function currentUser(): Promise<CurrentUser | undefined> {
  try {
    return await get<CurrentUser>("/users/current");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<SessionState>({ status: "loading" });
  useEffect(() => {
    let live = true;
    currentUser()
      .then((user) => live && setState(user ? { status: "signed-in", user } : { status: "signed-out", expired: false }))
      .catch(() => live && setState({ status: "signed-out", expired: false }));
    const stop = onUnauthorised(() => setState({ status: "signed-out", expired: true }));
    return () => {
      live = false;
      stop();
    };
  }, []);
  const signIn = useCallback(async (principal: string, password: string) => {
    await postSignIn(principal, password);
    const user = await currentUser();
    setState(user ? { status: "signed-in", user } : { status: "signed-out", expired: false });
  }, []);
  const signOut = useCallback(async () => {
    await getSignOut();
    setState({ status: "signed-out", expired: false });
  }, []);
  const value = useMemo(() => ({ state, signIn, signOut }), [state, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

/** The signed-in user; pages behind the sign-in only render once there is one. */
export function useUser(): CurrentUser {
  const { state } = useSession();
  if (state.status !== "signed-in") throw new Error("useUser on a page shown signed out");
  return state.user;
}
