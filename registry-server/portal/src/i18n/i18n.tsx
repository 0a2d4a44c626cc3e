// English and French. Each area of the portal keeps its own catalog (`defineMessages` in a file
// beside its pages), typed so that the French side cannot miss a key the English side has; the
// language is the user's choice, remembered in this browser, else the browser's own.

import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useLayoutEffect, useMemo, useState } from "preact/hooks";

export const LANGUAGES = ["en", "fr"] as const;
export type Language = (typeof LANGUAGES)[number];

export type Catalog<Keys extends string> = {
  readonly en: Readonly<Record<Keys, string>>;
  readonly fr: Readonly<Record<Keys, string>>;
};

/** A catalog whose French side must have exactly the English side's keys. */
export function defineMessages<const E extends Record<string, string>>(messages: {
  en: E;
  fr: { readonly [K in keyof E]: string };
}): Catalog<keyof E & string> {
  return messages;
}

export type Vars = Readonly<Record<string, string | number>>;
export type Translate<Keys extends string> = (key: Keys, vars?: Vars) => string;

const STORAGE_KEY = "airlock.language";

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === "en" || stored === "fr") return stored;
  return navigator.language.toLowerCase().startsWith("fr") ? "fr" : "en";
}

interface LanguageState {
  readonly language: Language;
  readonly setLanguage: (language: Language) => void;
}

const LanguageContext = createContext<LanguageState>({ language: "en", setLanguage: () => undefined });

export function LanguageProvider({ children }: { children: ComponentChildren }) {
  const [language, setState] = useState<Language>(initialLanguage);
  // A layout effect: the page's language changes in the same commit as its text, so a screen
  // reader (or a test) never finds English words under lang="fr".
  useLayoutEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    setState(next);
  }, []);
  const value = useMemo(() => ({ language, setLanguage }), [language, setLanguage]);
  return <LanguageContext.Provider value={value}>{children}</LanguageContext.Provider>;
}

export function useLanguage(): LanguageState {
  return useContext(LanguageContext);
}

function fill(template: string, vars: Vars | undefined): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** The translate function for one catalog in the current language. */
export function useT<Keys extends string>(catalog: Catalog<Keys>): Translate<Keys> {
  const { language } = useLanguage();
  return useCallback((key: Keys, vars?: Vars) => fill(catalog[language][key], vars), [catalog, language]);
}

/** Numbers, sizes and dates written as the language writes them. */
export function useFormat() {
  const { language } = useLanguage();
  return useMemo(() => {
    const locale = language === "fr" ? "fr-FR" : "en-GB";
    const number = new Intl.NumberFormat(locale);
    const oneDecimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
    const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    const units = language === "fr" ? ["o", "Kio", "Mio", "Gio", "Tio"] : ["B", "KiB", "MiB", "GiB", "TiB"];
    return {
      number: (value: number) => number.format(value),
      bytes: (value: number) => {
        let unit = 0;
        let scaled = value;
        while (scaled >= 1024 && unit < units.length - 1) {
          scaled /= 1024;
          unit += 1;
        }
        return `${unit === 0 ? number.format(scaled) : oneDecimal.format(scaled)} ${units[unit]}`;
      },
      /** Harbor's times (ISO strings; "0001-01-01…" for never) as a date, or "" when never. */
      dateTime: (value: string | undefined | null) => {
        if (!value || value.startsWith("0001-")) return "";
        const date = new Date(value);
        return Number.isNaN(date.getTime()) ? "" : dateTime.format(date);
      },
      percent: (ratio: number) => `${oneDecimal.format(ratio * 100)} %`,
    };
  }, [language]);
}
