// Read-only: what each template says on WhatsApp and by SMS, rendered with sample data.
import { PageTitle } from "../components/layout.tsx";
import { Empty, ErrorState, Loading, QueryState } from "../components/states.tsx";
import { useI18n } from "../i18n.tsx";
import { type Outputs, trpc } from "../trpc.ts";

type Template = Outputs["templates"]["list"]["items"][number];

export function TemplatesPage() {
  const { t } = useI18n();
  const templates = trpc.templates.list.useQuery({ limit: 100 });
  return (
    <>
      <PageTitle>{t("nav.templates")}</PageTitle>
      <p className="muted">{t("templates.intro")}</p>
      <QueryState query={templates}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={t("templates.empty")} hint={t("templates.emptyHint")} />
          ) : (
            <div className="template-grid">
              {data.items.map((template) => (
                <TemplateCard key={template.id} template={template} />
              ))}
            </div>
          )
        }
      </QueryState>
    </>
  );
}

function TemplateCard({ template }: { template: Template }) {
  const { t } = useI18n();
  const preview = trpc.templates.preview.useQuery({ id: template.id });
  const variables = Object.entries((template.whatsapp_variables ?? {}) as Record<string, string>);
  return (
    <article className="panel template" aria-labelledby={`template-${template.id}`}>
      <h2 id={`template-${template.id}`}>{template.name}</h2>
      <dl className="facts">
        <dt>{t("templates.trigger")}</dt>
        <dd>{t(`templates.trigger.${template.trigger}`)}</dd>
        <dt>{t("templates.language")}</dt>
        <dd>{template.language}</dd>
        <dt>{t("templates.state")}</dt>
        <dd>{template.active ? t("templates.active") : t("templates.inactive")}</dd>
      </dl>
      <h3>WhatsApp</h3>
      {template.whatsapp_content_sid ? (
        <>
          <p className="mono">{template.whatsapp_content_sid}</p>
          {variables.length ? (
            <dl className="facts">
              {variables.map(([key, text]) => (
                <div key={key} className="fact-row">
                  <dt>{`{{${key}}}`}</dt>
                  <dd>{preview.data?.whatsappVariables[key] ?? text}</dd>
                </div>
              ))}
            </dl>
          ) : null}
        </>
      ) : (
        <p className="muted">{t("templates.noWhatsapp")}</p>
      )}
      <h3>SMS</h3>
      <p className="source">{template.sms_body}</p>
      {preview.error ? (
        <ErrorState error={preview.error} onRetry={() => void preview.refetch()} />
      ) : !preview.data ? (
        <Loading label={t("templates.rendering")} />
      ) : (
        <>
          <h4>{t("templates.sample")}</h4>
          <blockquote className="sms-preview">{preview.data.sms.text}</blockquote>
          <p className="muted" data-testid="segments">
            {t("templates.segments", {
              segments: preview.data.sms.segments,
              characters: preview.data.sms.characters,
              encoding: preview.data.sms.encoding,
            })}
          </p>
        </>
      )}
    </article>
  );
}
