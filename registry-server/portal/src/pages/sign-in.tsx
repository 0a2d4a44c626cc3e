// Signing in with the registry's own accounts (the administrator, local users). Robots cannot
// sign in, as in Harbor: the server refuses them like a wrong password.

import { useState } from "preact/hooks";
import { ApiError } from "../api.ts";
import { errorText } from "../components/status.tsx";
import { LanguageSelect } from "../components/layout.tsx";
import { useTitle } from "../hooks/use-title.ts";
import { defineMessages, useT } from "../i18n/i18n.tsx";
import { useSession } from "../session.tsx";

const messages = defineMessages({
  en: {
    title: "Sign in",
    intro: "Sign in with your registry account.",
    username: "Username",
    password: "Password",
    submit: "Sign in",
    submitting: "Signing in…",
    wrong: "Wrong username or password (robot accounts cannot sign in).",
    throttled: "Too many failed attempts: wait a moment and try again.",
    expired: "Your session ended: sign in again.",
  },
  fr: {
    title: "Connexion",
    intro: "Connectez-vous avec votre compte du registre.",
    username: "Nom d'utilisateur",
    password: "Mot de passe",
    submit: "Se connecter",
    submitting: "Connexion…",
    wrong: "Nom d'utilisateur ou mot de passe incorrect (les comptes robots ne peuvent pas se connecter).",
    throttled: "Trop d'échecs : patientez un moment avant de réessayer.",
    expired: "Votre session a pris fin : reconnectez-vous.",
  },
});

export function SignInPage({ expired }: { expired: boolean }) {
  const t = useT(messages);
  const { signIn } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useTitle(t("title"));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(username, password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? t("wrong")
          : err instanceof ApiError && err.status === 429
            ? t("throttled")
            : errorText(err),
      );
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <div class="sign-in-box">
        <h1>{t("title")}</h1>
        <p>{t("intro")}</p>
        {expired && !error && (
          <p class="notice" role="status">
            {t("expired")}
          </p>
        )}
        {error && (
          <p class="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <form onSubmit={(event) => void submit(event)}>
          <div class="field">
            <label for="sign-in-username">{t("username")}</label>
            <input
              id="sign-in-username"
              name="username"
              autocomplete="username"
              required
              value={username}
              onInput={(event) => setUsername(event.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="sign-in-password">{t("password")}</label>
            <input
              id="sign-in-password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          </div>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? t("submitting") : t("submit")}
          </button>
        </form>
        <LanguageSelect />
      </div>
    </main>
  );
}
