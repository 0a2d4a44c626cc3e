// The frame of every signed-in page: a skip link, the header with the main navigation (the
// administrator's pages only for the administrator), the language and the user, and the page in
// <main>, which takes focus after each navigation so keyboard and screen-reader users start there.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { common } from "../i18n/common.ts";
import { LANGUAGES, useLanguage, useT, type Language } from "../i18n/i18n.tsx";
import { Link, useLocation } from "../router.tsx";
import { useSession, useUser } from "../session.tsx";

export interface NavItem {
  readonly href: string;
  readonly label: keyof typeof common.en;
  readonly adminOnly?: boolean;
}

export function LanguageSelect() {
  const t = useT(common);
  const { language, setLanguage } = useLanguage();
  return (
    <label class="language">
      {t("language")}{" "}
      <select value={language} onChange={(event) => setLanguage(event.currentTarget.value as Language)}>
        {LANGUAGES.map((code) => (
          <option key={code} value={code} lang={code}>
            {code === "en" ? "English" : "Français"}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Layout({ nav, children }: { nav: readonly NavItem[]; children: ComponentChildren }) {
  const t = useT(common);
  const user = useUser();
  const { signOut } = useSession();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // Not on the first load: the browser already starts at the top of the document there.
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [location.path]);
  return (
    <>
      <a class="skip-link" href="#main">
        {t("skipToContent")}
      </a>
      <header class="site-header">
        <Link href="/projects" class="brand">
          {t("product")}
        </Link>
        <nav aria-label={t("mainNavigation")}>
          <ul>
            {nav
              .filter((item) => !item.adminOnly || user.sysadmin_flag)
              .map((item) => {
                const here = location.path === item.href || location.path.startsWith(`${item.href}/`);
                return (
                  <li key={item.href}>
                    <Link href={item.href} {...(here && { "aria-current": "page" })}>
                      {t(item.label)}
                    </Link>
                  </li>
                );
              })}
          </ul>
        </nav>
        <div class="user">
          <LanguageSelect />
          <span>{t("signedInAs", { name: user.username })}</span>
          <button type="button" onClick={() => void signOut()}>
            {t("signOut")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
    </>
  );
}
