// Admins edit, members read: numbers, timezone, business and quiet hours, the SMS fallback
// wait, the per-caller cooldown, which call outcomes get a message, and where calls ring
// (forwarding, ring time, voicemail and its greeting, the voice's language).
import { type FormEvent, useMemo, useState } from "react";
import type { DashboardSession } from "../auth/session.ts";
import { PageTitle } from "../components/layout.tsx";
import { Empty, ErrorState, QueryState } from "../components/states.tsx";
import { useI18n } from "../i18n.tsx";
import { type Outputs, trpc } from "../trpc.ts";

type Settings = Outputs["settings"]["get"];
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const OUTCOMES = ["missed", "voicemail", "answered"] as const;
// The values settings.update accepts; the type check below fails when the API gains one.
const VOICE_LANGUAGES = [
  "en-US",
  "en-GB",
  "en-AU",
  "es-ES",
  "es-MX",
  "es-US",
] as const satisfies readonly Settings["voice_language"][];
type MissingVoiceLanguage = Exclude<Settings["voice_language"], (typeof VOICE_LANGUAGES)[number]>;
const everyVoiceLanguage: MissingVoiceLanguage extends never ? true : never = true;
void everyVoiceLanguage;
const RANGE = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;

/** "09:00-13:00, 16:00-20:00" → [["09:00","13:00"],["16:00","20:00"]]; null when it does not read. */
export function parseRanges(text: string): Array<[string, string]> | null {
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  const ranges: Array<[string, string]> = [];
  for (const part of parts) {
    const match = RANGE.exec(part);
    if (!match) return null;
    const [, h1, m1, h2, m2] = match;
    ranges.push([`${h1?.padStart(2, "0")}:${m1}`, `${h2?.padStart(2, "0")}:${m2}`]);
  }
  return ranges;
}

const formatRanges = (ranges: Array<[string, string]> | undefined) =>
  (ranges ?? []).map(([start, end]) => `${start}-${end}`).join(", ");

export function SettingsPage({ session }: { session: DashboardSession }) {
  const { t } = useI18n();
  const settings = trpc.settings.get.useQuery();
  return (
    <>
      <PageTitle>{t("nav.settings")}</PageTitle>
      {session.role !== "admin" ? (
        <p className="notice" role="note" data-testid="read-only-note">
          {t("settings.readOnly")}
        </p>
      ) : null}
      <PhoneNumbers canEdit={session.role === "admin"} />
      <QueryState query={settings}>
        {(data) => <SettingsForm key={data.id} settings={data} canEdit={session.role === "admin"} />}
      </QueryState>
    </>
  );
}

function PhoneNumbers({ canEdit }: { canEdit: boolean }) {
  const { t } = useI18n();
  const numbers = trpc.phoneNumbers.list.useQuery();
  const utils = trpc.useUtils();
  const [e164, setE164] = useState("");
  const [label, setLabel] = useState("");
  const add = trpc.phoneNumbers.add.useMutation({
    onSuccess: async () => {
      setE164("");
      setLabel("");
      await utils.phoneNumbers.invalidate();
    },
  });
  const remove = trpc.phoneNumbers.remove.useMutation({ onSuccess: () => utils.phoneNumbers.invalidate() });
  return (
    <section className="panel" id="numbers" aria-labelledby="numbers-title">
      <h2 id="numbers-title">{t("settings.numbers")}</h2>
      <QueryState query={numbers}>
        {(data) =>
          data.length === 0 ? (
            <Empty title={t("settings.noNumbers")} hint={t("settings.noNumbersHint")} />
          ) : (
            <ul className="numbers">
              {data.map((number) => (
                <li key={number.id}>
                  <span className="number">{number.e164}</span> <span className="muted">{number.label}</span>
                  {canEdit ? (
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => remove.mutate({ id: number.id })}
                      disabled={remove.isPending}
                      aria-label={t("settings.removeNumber", { number: number.e164 })}
                    >
                      {t("action.remove")}
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
      {remove.error ? <ErrorState error={remove.error} /> : null}
      {canEdit ? (
        <form
          className="row-form"
          onSubmit={(event) => {
            event.preventDefault();
            add.mutate({ e164: e164.trim(), label: label.trim() });
          }}
        >
          <label>
            {t("settings.newNumber")}
            <input
              value={e164}
              onChange={(event) => setE164(event.target.value)}
              placeholder="+34911230100"
              inputMode="tel"
              required
            />
          </label>
          <label>
            {t("settings.numberLabel")}
            <input value={label} onChange={(event) => setLabel(event.target.value)} maxLength={100} />
          </label>
          <button type="submit" disabled={add.isPending}>
            {t("settings.addNumber")}
          </button>
          {add.error ? (
            <p className="field-error" role="alert">
              {add.error.message}
            </p>
          ) : null}
        </form>
      ) : null}
    </section>
  );
}

function SettingsForm({ settings, canEdit }: { settings: Settings; canEdit: boolean }) {
  const { t } = useI18n();
  const utils = trpc.useUtils();
  const hours = settings.business_hours as Partial<Record<(typeof WEEKDAYS)[number], Array<[string, string]>>>;
  const quiet = settings.quiet_hours as { start: string; end: string } | null;
  const [timezone, setTimezone] = useState(settings.timezone);
  const [days, setDays] = useState(() => Object.fromEntries(WEEKDAYS.map((day) => [day, formatRanges(hours[day])])));
  const [quietOn, setQuietOn] = useState(quiet !== null);
  const [quietStart, setQuietStart] = useState(quiet?.start ?? "21:00");
  const [quietEnd, setQuietEnd] = useState(quiet?.end ?? "08:00");
  const [fallback, setFallback] = useState(String(settings.fallback_window_seconds));
  const [cooldownHours, setCooldownHours] = useState(String(settings.cooldown_seconds / 3600));
  const [outcomes, setOutcomes] = useState<string[]>(settings.trigger_outcomes as string[]);
  const [voice, setVoice] = useState<VoiceForm>(() => ({
    forwardTo: settings.forward_to ?? "",
    ringSeconds: String(settings.forward_timeout_seconds),
    voicemailOn: settings.voicemail_enabled,
    greeting: settings.voicemail_greeting ?? "",
    language: settings.voice_language,
  }));
  const [saved, setSaved] = useState(false);
  const update = trpc.settings.update.useMutation({
    onSuccess: async () => {
      setSaved(true);
      await utils.settings.invalidate();
    },
  });
  const timezones = useMemo(() => {
    const all = Intl.supportedValuesOf("timeZone");
    return all.includes(settings.timezone) ? all : [settings.timezone, ...all];
  }, [settings.timezone]);
  const parsedDays = Object.fromEntries(WEEKDAYS.map((day) => [day, parseRanges(days[day] ?? "")]));
  const badDays = WEEKDAYS.filter((day) => parsedDays[day] === null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    if (badDays.length) return;
    update.mutate({
      timezone,
      business_hours: Object.fromEntries(
        WEEKDAYS.filter((day) => parsedDays[day]?.length).map((day) => [day, parsedDays[day] ?? []]),
      ),
      quiet_hours: quietOn ? { start: quietStart, end: quietEnd } : null,
      fallback_window_seconds: Number(fallback),
      cooldown_seconds: Math.round(Number(cooldownHours) * 3600),
      trigger_outcomes: OUTCOMES.filter((outcome) => outcomes.includes(outcome)),
      // Empty means none: no forwarding number, the standard greeting.
      forward_to: voice.forwardTo.trim() || null,
      forward_timeout_seconds: Number(voice.ringSeconds),
      voicemail_enabled: voice.voicemailOn,
      voicemail_greeting: voice.greeting.trim() || null,
      voice_language: voice.language,
    });
  };

  return (
    <form className="settings" onSubmit={submit} aria-label={t("nav.settings")}>
      <fieldset disabled={!canEdit} className="panel" id="hours">
        <legend>{t("settings.hours")}</legend>
        <label>
          {t("settings.timezone")}
          <select value={timezone} onChange={(event) => setTimezone(event.target.value)}>
            {timezones.map((zone) => (
              <option key={zone} value={zone}>
                {zone}
              </option>
            ))}
          </select>
        </label>
        <p className="hint" id="hours-hint">
          {t("settings.hoursHint")}
        </p>
        <div className="days">
          {WEEKDAYS.map((day) => (
            <label key={day}>
              {t(`day.${day}`)}
              <input
                value={days[day] ?? ""}
                onChange={(event) => setDays({ ...days, [day]: event.target.value })}
                placeholder={t("settings.closed")}
                aria-describedby="hours-hint"
                aria-invalid={parsedDays[day] === null}
              />
            </label>
          ))}
        </div>
        {badDays.length ? (
          <p className="field-error" role="alert">
            {t("settings.badHours", { days: badDays.map((day) => t(`day.${day}`)).join(", ") })}
          </p>
        ) : null}
        <label className="checkbox">
          <input type="checkbox" checked={quietOn} onChange={(event) => setQuietOn(event.target.checked)} />
          {t("settings.quietOn")}
        </label>
        {quietOn ? (
          <div className="row-form">
            <label>
              {t("settings.quietStart")}
              <input type="time" value={quietStart} onChange={(event) => setQuietStart(event.target.value)} required />
            </label>
            <label>
              {t("settings.quietEnd")}
              <input type="time" value={quietEnd} onChange={(event) => setQuietEnd(event.target.value)} required />
            </label>
          </div>
        ) : null}
      </fieldset>
      <MessagingFieldset
        canEdit={canEdit}
        fallback={fallback}
        setFallback={setFallback}
        cooldownHours={cooldownHours}
        setCooldownHours={setCooldownHours}
        outcomes={outcomes}
        setOutcomes={setOutcomes}
      />
      <CallsFieldset canEdit={canEdit} voice={voice} setVoice={setVoice} />
      {canEdit ? (
        <div className="form-actions">
          <button type="submit" disabled={update.isPending}>
            {update.isPending ? t("action.saving") : t("action.save")}
          </button>
          <span role="status" aria-live="polite">
            {saved ? t("settings.saved") : ""}
          </span>
        </div>
      ) : null}
      {update.error ? <ErrorState error={update.error} /> : null}
    </form>
  );
}

/** How long to wait for WhatsApp, how soon to message a caller again, and after which calls. */
function MessagingFieldset(props: {
  canEdit: boolean;
  fallback: string;
  setFallback: (value: string) => void;
  cooldownHours: string;
  setCooldownHours: (value: string) => void;
  outcomes: string[];
  setOutcomes: (value: string[]) => void;
}) {
  const { t } = useI18n();
  const { canEdit, fallback, setFallback, cooldownHours, setCooldownHours, outcomes, setOutcomes } = props;
  return (
    <fieldset disabled={!canEdit} className="panel">
      <legend>{t("settings.messaging")}</legend>
      <label>
        {t("settings.fallback")}
        <input
          type="number"
          min={10}
          max={86400}
          step={1}
          value={fallback}
          onChange={(event) => setFallback(event.target.value)}
          aria-describedby="fallback-hint"
        />
        <span className="hint" id="fallback-hint">
          {t("settings.fallbackHint")}
        </span>
      </label>
      <label>
        {t("settings.cooldown")}
        <input
          type="number"
          min={0}
          max={720}
          step="any"
          value={cooldownHours}
          onChange={(event) => setCooldownHours(event.target.value)}
          aria-describedby="cooldown-hint"
        />
        <span className="hint" id="cooldown-hint">
          {t("settings.cooldownHint")}
        </span>
      </label>
      <fieldset className="plain">
        <legend>{t("settings.triggers")}</legend>
        {OUTCOMES.map((outcome) => (
          <label key={outcome} className="checkbox">
            <input
              type="checkbox"
              checked={outcomes.includes(outcome)}
              onChange={(event) =>
                setOutcomes(
                  event.target.checked ? [...outcomes, outcome] : outcomes.filter((value) => value !== outcome),
                )
              }
            />
            {t(`settings.trigger.${outcome}`)}
          </label>
        ))}
      </fieldset>
    </fieldset>
  );
}

interface VoiceForm {
  forwardTo: string;
  ringSeconds: string;
  voicemailOn: boolean;
  greeting: string;
  language: Settings["voice_language"];
}

/** Where a call to the business's number rings, for how long, and what happens when nobody answers. */
function CallsFieldset(props: { canEdit: boolean; voice: VoiceForm; setVoice: (voice: VoiceForm) => void }) {
  const { t, lang } = useI18n();
  const { canEdit, voice, setVoice } = props;
  const languageNames = useMemo(() => new Intl.DisplayNames([lang], { type: "language" }), [lang]);
  return (
    <fieldset disabled={!canEdit} className="panel" id="calls">
      <legend>{t("settings.calls")}</legend>
      <label>
        {t("settings.forwardTo")}
        <input
          value={voice.forwardTo}
          onChange={(event) => setVoice({ ...voice, forwardTo: event.target.value })}
          placeholder="+15125550100"
          inputMode="tel"
          maxLength={40}
          aria-describedby="forward-hint"
        />
        <span className="hint" id="forward-hint">
          {t("settings.forwardToHint")}
        </span>
      </label>
      <label>
        {t("settings.ringSeconds")}
        <input
          type="number"
          min={5}
          max={60}
          step={1}
          value={voice.ringSeconds}
          onChange={(event) => setVoice({ ...voice, ringSeconds: event.target.value })}
          aria-describedby="ring-hint"
        />
        <span className="hint" id="ring-hint">
          {t("settings.ringSecondsHint")}
        </span>
      </label>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={voice.voicemailOn}
          onChange={(event) => setVoice({ ...voice, voicemailOn: event.target.checked })}
        />
        {t("settings.voicemailOn")}
      </label>
      <label>
        {t("settings.greeting")}
        <textarea
          value={voice.greeting}
          onChange={(event) => setVoice({ ...voice, greeting: event.target.value })}
          maxLength={500}
          rows={3}
          disabled={!voice.voicemailOn}
          aria-describedby="greeting-hint"
        />
        <span className="hint" id="greeting-hint">
          {t("settings.greetingHint")}
        </span>
      </label>
      <label>
        {t("settings.voiceLanguage")}
        <select
          value={voice.language}
          onChange={(event) => setVoice({ ...voice, language: event.target.value as VoiceForm["language"] })}
        >
          {VOICE_LANGUAGES.map((code) => (
            <option key={code} value={code}>
              {languageNames.of(code) ?? code}
            </option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}
