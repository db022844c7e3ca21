import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from '../../testing/child.js';
import { startChild } from './processes.js';
import { generateLog } from './rebuild.js';

/** One console page's server time, as a browser on the same machine would wait for it. */
export interface PageTime {
  page: string;
  path: string;
  /** The first request (nothing cached: SQLite's page cache cold for this page's rows). */
  first_ms: number;
  p50_ms: number;
  max_ms: number;
}

export interface ConsoleBench {
  entries: number;
  pages: PageTime[];
}

/** The console token the console benches start `serve` with (`HUSKY_RELAY_UI_TOKEN`). */
export const TOKEN = 'bench-console-token-0123456789';
const REPEAT = 10;

/**
 * README "Console": each page of the web console on a log of `entries` entries spread over the
 * last 24 h, served by a real `serve` (no rules: nothing routes meanwhile). Each page is asked
 * for once cold, then `REPEAT` times; the time is the whole HTTP answer on 127.0.0.1.
 */
export async function benchConsole(entries: number): Promise<ConsoleBench> {
  const dir = mkdtempSync(join(tmpdir(), 'husky-bench-console-'));
  const now = Date.now();
  try {
    const dbPath = join(dir, 'bench.db');
    await generateLog(dbPath, entries, { from: now - 24 * 60 * 60_000 + 60_000, to: now, batch: 2_000 });
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HUSKY_WEBHOOK_SECRET: 'bench-webhook-secret-0123456789', HUSKY_RELAY_UI_TOKEN: TOKEN, LOG_LEVEL: 'warn' };
    const relay = await startChild([CLI, '--db', dbPath, '--rules', join(dir, 'none.yaml'), 'serve', '--port', '0', '--host', '127.0.0.1'], { ...env, LOG_LEVEL: 'info' });
    try {
      const cookie = await signIn(relay.url);
      // the console counts the chart's day in the background after a start (src/console/chart.ts):
      // measure a relay that has been up a few seconds, as a person opening it would find it
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const hour = (h: number) => new Date(now - h * 60 * 60_000).toISOString();
      const groups = Math.floor(entries / 3); // about three entries per event (see rebuild.ts)
      const pages: [string, string][] = [
        ['overview', '/ui/'],
        ['chart (24 h per minute)', '/ui/chart.json'],
        ['events', '/ui/events'],
        ['events, page in the middle', `/ui/events?before=${Math.floor(entries / 2)}`],
        ['events by call id', `/ui/events?call=call_${Math.floor(groups / 6)}`],
        ['events by event id', `/ui/events?event=evt_bench_${Math.floor(groups / 2)}`],
        ['events by type', '/ui/events?type=call.failed'],
        ['events by time (an hour, 12 h ago)', `/ui/events?since=${hour(12)}&until=${hour(11)}`],
        ['call page', `/ui/calls/call_${Math.floor(groups / 6)}`],
        ['deliveries', '/ui/deliveries'],
        ['deliveries, dead', '/ui/deliveries?status=dead'],
        ['deliveries, retrying of a sink', '/ui/deliveries?status=retrying&sink=hubspot'],
      ];
      const times: PageTime[] = [];
      for (const [page, path] of pages) times.push(await timePage(relay.url, cookie, page, path));
      return { entries, pages: [...times, await timeRulesPage(dir, env)] };
    } finally {
      await relay.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (ms: number) => Number(ms.toFixed(1));

/** One page asked for once cold, then `REPEAT` times. */
async function timePage(base: string, cookie: string, page: string, path: string): Promise<PageTime> {
  const first = await timed(base + path, cookie);
  const warm: number[] = [];
  for (let i = 0; i < REPEAT; i++) warm.push(await timed(base + path, cookie));
  warm.sort((a, b) => a - b);
  return { page, path, first_ms: round(first), p50_ms: round(warm[Math.floor(REPEAT / 2)]!), max_ms: round(warm[REPEAT - 1]!) };
}

/**
 * The rules page reads nothing of the log: it loads the rules file on every request (its
 * problems as the file is on disk now), so it is timed on a relay with `rules.example.yaml`
 * and an empty log. (The big log's relay runs without a rules file, so that nothing routes
 * while the other pages are timed: its rules page would load no file at all.)
 */
async function timeRulesPage(dir: string, env: NodeJS.ProcessEnv): Promise<PageTime> {
  const args = [CLI, '--db', join(dir, 'rules.db'), '--rules', join(ROOT, 'rules.example.yaml'), 'serve', '--port', '0', '--host', '127.0.0.1'];
  const relay = await startChild(args, { ...env, LOG_LEVEL: 'info' });
  try {
    return await timePage(relay.url, await signIn(relay.url), 'rules (rules.example.yaml)', '/ui/rules');
  } finally {
    await relay.stop();
  }
}

/** Signs in with the console token (`TOKEN`); the session cookie. Throws unless the sign-in is accepted. */
export async function signIn(base: string): Promise<string> {
  const login = await fetch(`${base}/ui/login`);
  const jar = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? '';
  const answer = await fetch(`${base}/ui/login`, {
    method: 'POST',
    headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token: TOKEN }).toString(),
    redirect: 'manual',
  });
  if (answer.status !== 303) throw new Error(`console sign-in answered ${answer.status}`);
  return answer.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

/** Milliseconds for one GET, body read; throws unless 200. */
async function timed(url: string, cookie: string): Promise<number> {
  const started = performance.now();
  const answer = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  await answer.arrayBuffer();
  const ms = performance.now() - started;
  if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}`);
  return ms;
}
