// Calls and callers reached per day, as plain SVG bars. The numbers are also in a table that
// screen readers get instead of the picture.
import { useI18n } from "../i18n.tsx";
import type { Outputs } from "../trpc.ts";

type Day = Outputs["stats"]["daily"][number];

const HEIGHT = 160;
const BAR_GAP = 0.25;

export function DailyChart({ days }: { days: Day[] }) {
  const { t, format } = useI18n();
  const max = Math.max(1, ...days.map((day) => day.calls));
  const width = Math.max(days.length * 24, 480);
  const slot = width / Math.max(days.length, 1);
  const bar = slot * (1 - BAR_GAP);
  const y = (value: number) => HEIGHT - (value / max) * HEIGHT;
  const labelEvery = Math.ceil(days.length / 8);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: at phone width the chart scrolls sideways; a scrolling region must be reachable by keyboard (WCAG 2.1.1)
    <figure className="chart" tabIndex={0} aria-labelledby="daily-chart-caption">
      <ul className="legend" aria-hidden="true">
        {(["calls", "whatsapp", "sms", "failed"] as const).map((key) => (
          <li key={key}>
            <span className={`key ${key}`} /> {t(`overview.chart.${key}`)}
          </li>
        ))}
      </ul>
      <svg viewBox={`0 0 ${width} ${HEIGHT + 22}`} aria-hidden="true">
        <line x1="0" x2={width} y1={HEIGHT} y2={HEIGHT} className="axis" />
        {days.map((day, index) => {
          const x = index * slot + (slot - bar) / 2;
          const stack = [
            { value: day.whatsapp, className: "whatsapp" },
            { value: day.sms, className: "sms" },
            { value: day.failed, className: "failed" },
          ];
          let top = HEIGHT;
          return (
            <g key={day.day}>
              <rect className="calls" x={x} width={bar} y={y(day.calls)} height={HEIGHT - y(day.calls)} />
              {stack.map((part) => {
                const height = HEIGHT - y(part.value);
                top -= height;
                return (
                  <rect
                    key={part.className}
                    className={part.className}
                    x={x + bar * 0.2}
                    width={bar * 0.6}
                    y={top}
                    height={height}
                  />
                );
              })}
              {index % labelEvery === 0 ? (
                <text x={Math.max(x + bar / 2, 18)} y={HEIGHT + 15} textAnchor="middle">
                  {format.day(day.day)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption id="daily-chart-caption" className="visually-hidden">
        {t("overview.chart.caption")}
      </figcaption>
      <table className="visually-hidden">
        <thead>
          <tr>
            <th scope="col">{t("overview.chart.day")}</th>
            <th scope="col">{t("overview.chart.calls")}</th>
            <th scope="col">{t("overview.chart.whatsapp")}</th>
            <th scope="col">{t("overview.chart.sms")}</th>
            <th scope="col">{t("overview.chart.failed")}</th>
          </tr>
        </thead>
        <tbody>
          {days.map((day) => (
            <tr key={day.day}>
              <th scope="row">{format.day(day.day)}</th>
              <td>{day.calls}</td>
              <td>{day.whatsapp}</td>
              <td>{day.sms}</td>
              <td>{day.failed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
