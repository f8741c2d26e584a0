// Benchmark: the database read behind GET /metrics (readDeliverySnapshot, its cache aside)
// on the PostgreSQL server, over a month of history across 100 businesses. The read should
// cost the last 24 hours' rows, not the table's, thanks to the indexes of
// 20261202300000_delivery_metrics_indexes.sql; the in-run baseline is the same read with
// those indexes dropped (and put back after).
import { readDeliverySnapshot } from "@callflow/api";
import { type Database, migrate, openDatabase } from "@callflow/db";
import { plans, quotaReachedReason } from "@callflow/domain";
import { sql } from "kysely";
import { figure, flags, latencyFigures, printMachine, printTable, timeEach } from "./measure.ts";
import { benchDatabaseUrl } from "./postgres-server.ts";

const options = flags(
  "metrics-scrape: the delivery metrics' database read over --jobs jobs spread over --days days",
  { jobs: 300_000, days: 30, iterations: 60, warmup: 5, baselineIterations: 10, fresh: false },
  { jobs: 60_000, iterations: 20, baselineIterations: 5 },
);
const ORGS = 100;

// ---- setup

/**
 * Calls, jobs and messages as the workflows leave them, evenly over the last `days` days:
 * 60 % delivered by WhatsApp, 15 % by SMS after WhatsApp failed (63024), 10 % by SMS alone,
 * 5 % failed (30003), 7 % skipped (a third of them at the quota), 3 % still open.
 */
async function loadHistory(database: Database, jobs: number, days: number): Promise<void> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from public.message_jobs`.execute(database.owner);
  if ((rows[0]?.n ?? 0) >= jobs) return;
  const started = performance.now();
  await database.owner.transaction().execute(async (tx) => {
    await sql`insert into public.organizations (id, name)
              select 'org_bench_' || o, 'Bench ' || o from generate_series(1, ${ORGS}) o
              on conflict do nothing`.execute(tx);
    await sql`create temporary table history on commit drop as
      select i, 'org_bench_' || (i % ${ORGS} + 1) as org, md5('call ' || i)::uuid as call_id,
             md5('job ' || i)::uuid as job_id,
             now() - (${days} * interval '1 day') * (i::float8 / ${jobs}) as ended_at,
             case when i % 100 < 60 then 'whatsapp' when i % 100 < 75 then 'fallback' when i % 100 < 85 then 'sms'
                  when i % 100 < 90 then 'failed' when i % 100 < 97 then 'skipped' else 'open' end as kind
        from generate_series(1, ${jobs}) i`.execute(tx);
    await sql`insert into public.call_logs (id, organization_id, call_sid, from_number, to_number, status, outcome, ended_at)
      select call_id, org, 'CA' || md5('sid ' || i), '+1555' || lpad(i::text, 7, '0'), '+15550100001',
             'completed', 'missed', ended_at from history`.execute(tx);
    await sql`insert into public.message_jobs (id, organization_id, call_log_id, to_number, decision, reason, status,
                                               channels, final_channel, created_at, completed_at)
      select job_id, org, call_id, '+1555' || lpad(i::text, 7, '0'),
             case kind when 'skipped' then 'skip' else 'send' end,
             case when kind = 'skipped' and i % 3 = 0 then ${quotaReachedReason(plans.starter, 500)}
                  when kind = 'skipped' then 'opted out' else 'missed call' end,
             case kind when 'whatsapp' then 'delivered' when 'fallback' then 'delivered' when 'sms' then 'delivered'
                       when 'failed' then 'failed' when 'skipped' then 'skipped' else 'sending' end,
             case kind when 'sms' then '{sms}' when 'failed' then '{sms}' when 'skipped' then '{}'
                       else '{whatsapp,sms}' end::text[],
             case kind when 'whatsapp' then 'whatsapp' when 'fallback' then 'sms' when 'sms' then 'sms' end,
             ended_at, case when kind <> 'open' then ended_at + interval '5 minutes' end
        from history`.execute(tx);
    await sql`insert into public.messages (organization_id, job_id, channel, provider_sid, to_number, status,
                                           error_code, sent_at, status_changed_at)
      select org, job_id, channel, 'SM' || md5(channel || i), '+1555' || lpad(i::text, 7, '0'), status, error_code,
             ended_at + sent_after, ended_at + sent_after + interval '20 seconds'
        from history, lateral (values
          ('whatsapp', case kind when 'fallback' then 'failed' when 'open' then 'sent' else 'read' end,
           case kind when 'fallback' then 63024 end, interval '30 seconds'),
          ('sms', case kind when 'failed' then 'failed' else 'delivered' end,
           case kind when 'failed' then 30003 end, interval '2 minutes')
        ) as m(channel, status, error_code, sent_after)
       where (channel = 'whatsapp' and kind in ('whatsapp', 'fallback', 'open'))
          or (channel = 'sms' and kind in ('fallback', 'sms', 'failed'))`.execute(tx);
  });
  await sql`analyze`.execute(database.owner);
  console.log(`loaded ${jobs.toLocaleString("en-US")} jobs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ---- phases and report

const SCRAPE_INDEXES = [
  "message_jobs_completed_at",
  "message_jobs_open",
  "messages_sent_at",
  "messages_provider_errors",
];

/** Runs `fn` with the migration's scrape indexes dropped, then creates them again as they were. */
async function withoutScrapeIndexes<T>(database: Database, fn: () => Promise<T>): Promise<T> {
  const { rows } = await sql<{ definition: string }>`
    select pg_get_indexdef(indexrelid) as definition from pg_index
     where indexrelid::regclass::text = any(${SCRAPE_INDEXES})`.execute(database.owner);
  if (rows.length !== SCRAPE_INDEXES.length) throw new Error(`expected ${SCRAPE_INDEXES.join(", ")}`);
  for (const name of SCRAPE_INDEXES) await sql`drop index ${sql.id("public", name)}`.execute(database.owner);
  try {
    return await fn();
  } finally {
    for (const { definition } of rows) await sql.raw(definition).execute(database.owner);
  }
}

async function main(): Promise<void> {
  printMachine("metrics-scrape");
  const url = await benchDatabaseUrl(`callflow_bench_metrics_${options.jobs}_${options.days}d`, options.fresh);
  const database = await openDatabase({ databaseUrl: url, poolSize: 2 });
  try {
    await migrate(database);
    await loadHistory(database, options.jobs, options.days);
    const snapshot = await readDeliverySnapshot(database);
    const finished24h = snapshot.completedJobs.reduce((sum, row) => sum + row.jobs["24h"], 0);
    console.log(
      `checks: jobs finished in 24 h ${finished24h} (of ${options.jobs} over ${options.days} days); first sends timed ${snapshot.firstSend["24h"].jobs}; open ${snapshot.openJobs.reduce((sum, row) => sum + row.jobs, 0)}`,
    );
    const withIndexes = (
      await timeEach(options.iterations, options.warmup, () => readDeliverySnapshot(database))
    ).summary();
    // Without them a read can pass the snapshot's statement timeout: that read counts with
    // the time it took to give up, as a scrape would wait that long for nothing.
    let timedOut = 0;
    const withoutIndexes = await withoutScrapeIndexes(database, async () =>
      (
        await timeEach(options.baselineIterations, 1, () =>
          readDeliverySnapshot(database).catch((error: Error) => {
            if (!/statement timeout/.test(error.message)) throw error;
            timedOut += 1;
          }),
        )
      ).summary(),
    );
    if (timedOut > 0) console.log(`without the indexes, ${timedOut} reads hit the statement timeout`);
    printTable(
      ["delivery snapshot read, ms", "p50", "p95", "p99", "mean"],
      [withIndexes, withoutIndexes].map((summary, index) => [
        index === 0 ? "with the scrape's indexes" : "without them",
        summary.p50,
        summary.p95,
        summary.p99,
        summary.mean,
      ]),
    );
    figure("metrics_scrape_ms", withIndexes.p50, "ms", "metrics_scrape_no_indexes_ms");
    latencyFigures("metrics_scrape", withIndexes, ["p95"]);
    figure("metrics_scrape_no_indexes_ms", withoutIndexes.p50, "ms");
  } finally {
    await database.close();
  }
}

await main();
