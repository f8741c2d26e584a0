// ops/grafana/callflow.json against what GET /metrics really exposes after real traffic: every
// panel query parses as PromQL (Prometheus's own grammar), names metrics the exposition has
// samples of, and matches labels and label values those samples carry.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ORG_A, ORG_B } from "@callflow/db/testing";
import { parser } from "@prometheus-io/lezer-promql";
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../test-api.ts";
import { DELIVERY_JOBS, insertJob } from "./delivery-fixture.ts";
import { WINDOWS } from "./delivery-snapshot.ts";
import { type Exposition, readExposition } from "./exposition-reader.ts";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

const DASHBOARD = new URL("../../../../ops/grafana/callflow.json", import.meta.url);
// Grafana's syntax, not a template string: the panels name the data source the viewer picked.
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");
const TWILIO_TOKEN = "dashboard-test-twilio-auth-token";
const PUBLIC_URL = "https://hooks.callflow.test";

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string }> };
}

/** Every panel's queries with Grafana's variables set, once per value of $window. */
function queriesOf(dashboard: Dashboard): Array<{ panel: string; expr: string }> {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  return panels
    .filter((panel) => panel.type !== "row")
    .flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? "" })))
    .flatMap(({ panel, expr }) =>
      WINDOWS.map((window) => ({
        panel,
        expr: expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => {
          const variable = braced ?? bare;
          if (variable === "window") return window;
          if (variable === "__rate_interval") return "1m";
          throw new Error(`panel "${panel}" uses ${whole}, which this test does not know`);
        }),
      })),
    );
}

interface Selector {
  metric: string | undefined;
  matchers: Array<{ label: string; op: string; value: string }>;
}

/** The vector selectors of a PromQL expression; throws where Prometheus's grammar refuses it. */
function selectorsOf(expr: string): Selector[] {
  const tree = parser.parse(expr);
  const selectors: SyntaxNode[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) throw new Error(`not PromQL at ${node.from}: ${expr}`);
      if (node.name === "VectorSelector") selectors.push(node.node);
    },
  });
  const text = (node: SyntaxNode | null) => (node ? expr.slice(node.from, node.to) : "");
  return selectors.map((selector) => ({
    metric: selector.getChild("Identifier") ? text(selector.getChild("Identifier")) : undefined,
    matchers: (selector.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []).map((matcher) => ({
      label: text(matcher.getChild("LabelName")),
      op: matcher.getChild("MatchOp")?.firstChild?.name ?? "",
      value: JSON.parse(text(matcher.getChild("StringLiteral"))) as string,
    })),
  }));
}

const matches = (op: string, pattern: string, value: string | undefined) => {
  if (value === undefined) return op === "Neq" || op === "NeqRegex";
  if (op === "EqlSingle") return value === pattern;
  if (op === "Neq") return value !== pattern;
  // PromQL regexes are anchored at both ends.
  const regex = new RegExp(`^(?:${pattern})$`);
  return op === "EqlRegex" ? regex.test(value) : !regex.test(value);
};

describe("the Grafana dashboard", () => {
  let api: TestApi;
  let dashboard: Dashboard;
  let exposition: Exposition;

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as Dashboard;
    api = await startTestApi("pglite", {
      twilio: { authToken: TWILIO_TOKEN, publicUrl: PUBLIC_URL },
      metricsCacheMs: 0,
    });
    // Traffic for every panel: a signed webhook, a forged one, a dashboard call, finished jobs.
    for (const forged of [false, true]) await postVoiceCallback(api.url, forged);
    await fetch(`${api.url}/trpc/settings.get`, {
      headers: { authorization: `Bearer ${api.token({ orgId: ORG_A })}` },
    });
    for (const org of [ORG_A, ORG_B])
      for (const [index, spec] of DELIVERY_JOBS.entries()) await insertJob(api.scratch.database, org, index, spec);
    const response = await fetch(`${api.url}/metrics`);
    exposition = readExposition(await response.text());
  });
  afterAll(() => api?.close());

  it("reads its data source from a variable and offers exactly the windows the endpoint exposes", () => {
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    expect(variables.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(variables.get("window")?.query.split(",")).toEqual([...WINDOWS]);
    const panels = dashboard.panels.filter((panel) => panel.type !== "row");
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE_VARIABLE);
    }
  });

  it("queries only metrics and labels GET /metrics exposes, each with samples after real traffic", () => {
    const queries = queriesOf(dashboard);
    const metricsUsed = new Set<string>();
    for (const { panel, expr } of queries) {
      const selectors = selectorsOf(expr);
      expect(selectors.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const { metric, matchers } of selectors) {
        expect(metric, `${panel}: a selector without a metric name`).toBeDefined();
        metricsUsed.add(metric ?? "");
        const samples = exposition.samples.filter((sample) => sample.name === metric);
        expect(samples.length, `${panel}: ${metric} has no samples in the exposition`).toBeGreaterThan(0);
        const selected = samples.filter((sample) =>
          matchers.every(({ label, op, value }) => matches(op, value, sample.labels[label])),
        );
        expect(selected.length, `${panel}: nothing matches ${expr}`).toBeGreaterThan(0);
      }
    }
    // The figures issue 14 asks for each have a panel.
    for (const metric of [
      "callflow_http_request_duration_seconds_bucket",
      "callflow_http_requests_total",
      "callflow_message_jobs_completed",
      "callflow_message_jobs_fallback_ratio",
      "callflow_call_end_to_first_send_seconds",
      "callflow_provider_errors",
      "callflow_message_jobs_quota_skipped",
    ])
      expect(metricsUsed).toContain(metric);
  });

  it("would catch a panel naming a metric the endpoint does not expose", () => {
    const [selector] = selectorsOf('max(callflow_message_jobs_finished{window="1h"})');
    expect(exposition.samples.some((sample) => sample.name === selector?.metric)).toBe(false);
    expect(() => selectorsOf("sum(rate(callflow_http_requests_total[1m])")).toThrow(/not PromQL/);
  });
});

function postVoiceCallback(url: string, forged: boolean) {
  const params = {
    AccountSid: `AC${"1".repeat(32)}`,
    CallSid: `CA${randomBytes(16).toString("hex")}`,
    CallStatus: "completed",
    CallDuration: "12",
    From: "+15125550123",
    To: "+15550100001",
    Direction: "inbound",
  };
  const key = forged ? "not-the-auth-token" : TWILIO_TOKEN;
  return fetch(`${url}/webhooks/twilio/voice`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilio.getExpectedTwilioSignature(key, `${PUBLIC_URL}/webhooks/twilio/voice`, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}
