// The interface's two languages, chosen from the browser and switchable, and every date
// shown in the business's own timezone (settings.get), whatever the viewer's clock says.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { en, es, type MessageKey } from "./messages.ts";

export type Lang = "en" | "es";
const catalogs: Record<Lang, Record<MessageKey, string>> = { en, es };
const LANG_KEY = "callflow.lang";

function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "en" || saved === "es") return saved;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const language of preferred) {
    if (language.toLowerCase().startsWith("es")) return "es";
    if (language.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: Translate;
  timezone: string;
  setTimezone: (timezone: string) => void;
  format: ReturnType<typeof formatters>;
}

function formatters(lang: Lang, timeZone: string) {
  const locale = lang === "es" ? "es-ES" : "en-US";
  const dateTime = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "medium", timeStyle: "short" });
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const day = new Intl.DateTimeFormat(locale, { timeZone: "UTC", day: "numeric", month: "short" });
  const number = new Intl.NumberFormat(locale);
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const toDate = (value: string | Date) => (value instanceof Date ? value : new Date(value));
  return {
    dateTime: (value: string | Date) => dateTime.format(toDate(value)),
    time: (value: string | Date) => time.format(toDate(value)),
    /** A calendar day already in the business's timezone (YYYY-MM-DD). */
    day: (isoDay: string) => day.format(new Date(`${isoDay}T00:00:00Z`)),
    number: (value: number) => number.format(value),
    percent: (value: number) => percent.format(value),
    /** A price in its currency's major unit (29 usd → $29); cents only when there are some. */
    money: (amount: number, currency: string) =>
      new Intl.NumberFormat(locale, {
        style: "currency",
        currency: currency.toUpperCase(),
        minimumFractionDigits: Number.isInteger(amount) ? 0 : 2,
      }).format(amount),
    /** The business's calendar day of an instant, YYYY-MM-DD (for date inputs). */
    isoDay: (value: Date) => new Intl.DateTimeFormat("en-CA", { timeZone, dateStyle: "short" }).format(value),
  };
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(LANG_KEY, next);
    setLangState(next);
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const catalog = catalogs[lang];
    const t: Translate = (key, vars) => {
      const text = catalog[key];
      return vars ? text.replace(/\{(\w+)\}/g, (match, name: string) => String(vars[name] ?? match)) : text;
    };
    return { lang, setLang, t, timezone, setTimezone, format: formatters(lang, timezone) };
  }, [lang, setLang, timezone]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error("useI18n outside I18nProvider");
  return context;
}

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="language">
      <span className="visually-hidden">{t("language.label")}</span>
      <select value={lang} onChange={(event) => setLang(event.target.value as Lang)}>
        <option value="en">English</option>
        <option value="es">Español</option>
      </select>
    </label>
  );
}
