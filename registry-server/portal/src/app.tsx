// The portal: the sign-in page until a session exists, then the page the path names inside the
// frame. A signed-out user keeps the path they asked for and lands on it once signed in.

import { useEffect } from "preact/hooks";
import { Layout } from "./components/layout.tsx";
import { Loading } from "./components/status.tsx";
import { LanguageProvider } from "./i18n/i18n.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { matchPath, navigate, useLocation } from "./router.tsx";
import { NAVIGATION, ROUTES } from "./routes.tsx";
import { SessionProvider, useSession } from "./session.tsx";

function CurrentPage() {
  const location = useLocation();
  useEffect(() => {
    if (location.path === "/") navigate("/projects", { replace: true });
  }, [location.path]);
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, location.path);
    if (params) return route.render(params);
  }
  return location.path === "/" ? <Loading /> : <NotFoundPage />;
}

function Portal() {
  const { state } = useSession();
  if (state.status === "loading") {
    return (
      <main id="main">
        <Loading />
      </main>
    );
  }
  if (state.status === "signed-out") return <SignInPage expired={state.expired} />;
  return (
    <Layout nav={NAVIGATION}>
      <CurrentPage />
    </Layout>
  );
}

export function App() {
  return (
    <LanguageProvider>
      <SessionProvider>
        <Portal />
      </SessionProvider>
    </LanguageProvider>
  );
}
