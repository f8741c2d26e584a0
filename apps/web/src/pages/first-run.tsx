// Until a business is set up, the steps that get it there, each linking to where it is done.
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages.ts";
import { Link } from "../router.tsx";
import { trpc } from "../trpc.ts";

export function FirstRunChecklist() {
  const { t } = useI18n();
  const numbers = trpc.phoneNumbers.list.useQuery();
  const settings = trpc.settings.get.useQuery();
  const templates = trpc.templates.list.useQuery({ limit: 1 });
  const calls = trpc.calls.list.useQuery({ limit: 1 });
  if (!numbers.data || !settings.data || !templates.data || !calls.data) return null;
  const steps: Array<{ done: boolean; label: MessageKey; href: string }> = [
    { done: numbers.data.length > 0, label: "setup.number", href: "/settings#numbers" },
    // A new business starts on UTC: a real timezone means someone set the hours up.
    { done: settings.data.timezone !== "UTC", label: "setup.hours", href: "/settings#hours" },
    { done: templates.data.items.some((template) => template.active), label: "setup.templates", href: "/templates" },
    { done: calls.data.items.length > 0, label: "setup.testCall", href: "/calls" },
  ];
  if (steps.every((step) => step.done)) return null;
  return (
    <section className="panel checklist" aria-labelledby="setup">
      <h2 id="setup">{t("setup.title")}</h2>
      <p>{t("setup.intro")}</p>
      <ol>
        {steps.map((step) => (
          <li key={step.label} className={step.done ? "done" : ""}>
            <span className="check" aria-hidden="true">
              {step.done ? "✓" : ""}
            </span>
            <Link href={step.href}>{t(step.label)}</Link>
            <span className="visually-hidden">{step.done ? t("setup.done") : t("setup.todo")}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
