import { benchConsole } from './console.js';
import { benchIngest } from './ingest.js';
import { benchDispatch, benchRouting } from './pipeline.js';
import { benchRebuild } from './rebuild.js';
import { benchPostgres } from './pg.js';

/**
 * `npm run bench [-- --json] [-- --seconds N] [-- --quick]`: the README "Performance" table. Speed and
 * memory are measured here, never by timed tests. `--quick` runs smaller sizes (a smoke run).
 * `-- --engine postgres [--pg-url URL]`: ingest with one and two relays on PostgreSQL and
 * dispatch, beside SQLite in the same run (README "Past one machine: PostgreSQL").
 */
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : quick ? 3 : 10;
const sizes = quick ? { route: 10_000, dispatch: 5_000, rebuild: 100_000, console: 100_000 } : { route: 100_000, dispatch: 20_000, rebuild: 1_000_000, console: 1_000_000 };

const say = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

const engineArg = args.indexOf('--engine');
if (engineArg >= 0 && args[engineArg + 1] === 'postgres') {
  const urlArg = args.indexOf('--pg-url');
  await benchPostgresTable(urlArg >= 0 ? args[urlArg + 1]! : 'postgres://postgres@127.0.0.1:5432/test');
  process.exit(0);
}

say(`ingest: ${seconds}s per phase, 32 connections, signed unique events…`);
const ingest = await benchIngest(seconds);
say(`routing: ${sizes.route.toLocaleString('en')} logged events…`);
const routing = await benchRouting(sizes.route);
say(`dispatch: ${sizes.dispatch.toLocaleString('en')} deliveries to an instant local HTTP sink…`);
const dispatch = await benchDispatch(sizes.dispatch);
say(`rebuild: ${sizes.rebuild.toLocaleString('en')} log entries…`);
const rebuild = await benchRebuild(sizes.rebuild);
say(`console: each page on a log of ${sizes.console.toLocaleString('en')} entries over the last 24 h…`);
const consolePages = await benchConsole(sizes.console);
const results = { ingest, routing, dispatch, rebuild, console: consolePages };

if (json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const rows: string[][] = [
    ['bare Koa handler', `${n(ingest.bare_koa.requests_per_s)} req/s`, `${ingest.bare_koa.p50_ms} ms`, `${ingest.bare_koa.p99_ms} ms`, `${ingest.bare_koa.peak_rss_mb} MB`, ''],
    ['ingest, durable', `${n(ingest.relay.requests_per_s)} events/s (${ingest.ratio}× bare)`, `${ingest.relay.p50_ms} ms`, `${ingest.relay.p99_ms} ms`, `${ingest.relay.peak_rss_mb} MB`, ''],
    ['ingest at steady 1,000/s', `${n(ingest.steady_1000.requests_per_s)} events/s`, `${ingest.steady_1000.p50_ms} ms`, `${ingest.steady_1000.p99_ms} ms`, '', ''],
    ['routing', `${n(routing.per_s)} events/s (${n(routing.items)} in ${routing.seconds.toFixed(1)} s)`, '', '', `${routing.peak_rss_mb} MB`, `${routing.cpu_ms_per_item} ms/event`],
    ['dispatch, recorded', `${n(dispatch.per_s)} deliveries/s (${n(dispatch.items)} in ${dispatch.seconds.toFixed(1)} s)`, '', '', `${dispatch.peak_rss_mb} MB`, `${dispatch.cpu_ms_per_item} ms/delivery`],
    ['replay --rebuild', `${n(rebuild.entries_per_s)} entries/s (${n(rebuild.entries)} in ${rebuild.seconds.toFixed(1)} s)`, '', '', `${rebuild.peak_rss_mb} MB`, rebuild.cpu_ms_per_1000 === null ? '' : `${rebuild.cpu_ms_per_1000} ms/1,000 entries`],
  ];
  const header = ['phase', 'throughput', 'p50', 'p99', 'peak RSS', 'relay CPU'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  process.stdout.write(`\nconsole pages, ${n(consolePages.entries)}-entry log (ms: first request, then p50 and max of 10)\n`);
  const pageRows = consolePages.pages.map((p) => [p.page, String(p.first_ms), String(p.p50_ms), String(p.max_ms)]);
  const pageWidths = [0, 1, 2, 3].map((i) => Math.max(...[['page', 'first', 'p50', 'max'], ...pageRows].map((r) => r[i]!.length)));
  for (const row of [['page', 'first', 'p50', 'max'], ...pageRows]) process.stdout.write(`${row.map((c, i) => c.padEnd(pageWidths[i]!)).join('  ').trimEnd()}\n`);
  // README "Console": each page answers in under 200 ms on a 1,000,000-entry log
  const slow = consolePages.pages.filter((p) => Math.max(p.first_ms, p.max_ms) >= 200).map((p) => p.page);
  if (slow.length > 0) process.stdout.write(`warning: 200 ms or more for: ${slow.join(', ')}\n`);
  const bad = [ingest.bare_koa, ingest.relay, ingest.steady_1000].some((r) => r.non_2xx > 0 || r.errors > 0);
  if (bad) process.stdout.write('warning: some requests were not answered 2xx (see --json)\n');
}

/** The `--engine postgres` table: each phase on SQLite and on PostgreSQL (a fresh database each, made from `adminUrl`). */
async function benchPostgresTable(adminUrl: string): Promise<void> {
  say(`ingest on SQLite, on PostgreSQL with one relay and with two: ${seconds}s each, 32 connections; dispatch of ${sizes.dispatch.toLocaleString('en')} deliveries on each…`);
  const r = await benchPostgres(adminUrl, seconds, sizes.dispatch);
  if (json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const rows = [
    ['ingest, SQLite, one relay', `${n(r.ingest_sqlite.requests_per_s)} events/s`, `${r.ingest_sqlite.p50_ms} ms`, `${r.ingest_sqlite.p99_ms} ms`],
    ['ingest, PostgreSQL, one relay', `${n(r.ingest_pg_one.requests_per_s)} events/s`, `${r.ingest_pg_one.p50_ms} ms`, `${r.ingest_pg_one.p99_ms} ms`],
    ['ingest, PostgreSQL, two relays', `${n(r.ingest_pg_two.requests_per_s)} events/s`, `${r.ingest_pg_two.p50_ms} ms`, `${r.ingest_pg_two.p99_ms} ms`],
    ['dispatch, SQLite', `${n(r.dispatch_sqlite.per_s)} deliveries/s`, '', ''],
    ['dispatch, PostgreSQL', `${n(r.dispatch_pg.per_s)} deliveries/s`, '', ''],
  ];
  const header = ['phase', 'throughput', 'p50', 'p99'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  const bad = [r.ingest_sqlite, r.ingest_pg_one, r.ingest_pg_two].some((x) => x.non_2xx > 0 || x.errors > 0);
  if (bad) process.stdout.write('warning: some requests were not answered 2xx (see --json)\n');
}
