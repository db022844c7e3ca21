import { benchIngest } from './ingest.js';

/**
 * `npm run bench [-- --json] [-- --seconds N]`: the SPEC §8 table. Speed and memory are
 * measured here, never by timed tests.
 */
const args = process.argv.slice(2);
const json = args.includes('--json');
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 10;

const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

say(`ingest: ${seconds}s per phase, 32 connections, signed unique events…`);
const ingest = await benchIngest(seconds);
const results = { ingest };

if (json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const rows: [string, string, string, string, string][] = [
    ['bare Koa handler', `${ingest.bare_koa.requests_per_s}/s`, `${ingest.bare_koa.p50_ms} ms`, `${ingest.bare_koa.p99_ms} ms`, `${ingest.bare_koa.peak_rss_mb} MB`],
    ['relay ingest (durable)', `${ingest.relay.requests_per_s}/s (${ingest.ratio}× bare)`, `${ingest.relay.p50_ms} ms`, `${ingest.relay.p99_ms} ms`, `${ingest.relay.peak_rss_mb} MB`],
    ['relay at steady 1,000/s', `${ingest.steady_1000.requests_per_s}/s`, `${ingest.steady_1000.p50_ms} ms`, `${ingest.steady_1000.p99_ms} ms`, ''],
  ];
  const header: [string, string, string, string, string] = ['phase', 'throughput', 'p50', 'p99', 'peak RSS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) say(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const bad = [ingest.bare_koa, ingest.relay, ingest.steady_1000].some((r) => r.non_2xx > 0 || r.errors > 0);
  if (bad) say('warning: some requests were not answered 2xx (see --json)');
}
