import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from '../../src/receive/verify-signature.js';
import { CLI } from '../../testing/child.js';
import { signIn, TOKEN } from './console.js';
import { startChild } from './processes.js';
import { generateLog } from './rebuild.js';

/**
 * Issue 13: webhook ack latency of `serve` on SQLite, idle and while console pages are being
 * read, for two builds alternately in one run (their CLIs: `--a` and `--b`, default this
 * worktree's `dist/cli.js` for both). Each run copies one generated log (`--entries`, over the
 * last 24 h), starts `serve` (no rules), signs in, lets the chart's warm-up finish, then sends
 * `--acks` signed webhooks one after another, first with nothing else, then with
 * `--readers` console clients reading heavy pages in a loop. Prints JSON: p50/p99/max per
 * build and phase, and the pages served meanwhile.
 *
 * `npm run build && npm run build:tools && node dist-tools/tools/bench/console-acks.js --a /work/main/dist/cli.js --b dist/cli.js`
 */
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const builds = { a: arg('--a', CLI), b: arg('--b', CLI) };
const entries = Number(arg('--entries', '300000'));
const acks = Number(arg('--acks', '200'));
const readers = Number(arg('--readers', '4'));
const rounds = Number(arg('--rounds', '2'));
const SECRET = 'bench-webhook-secret-0123456789';

/** Latencies of one phase, in ms. */
interface Phase {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** How long sending them took, in s. */
  seconds: number;
  /** Console pages answered per second while the acks were sent (the loaded phase). */
  pages_per_s?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'husky-bench-acks-'));
const now = Date.now();
const seed = join(dir, 'seed');
await generateLog(join(seed, 'bench.db'), entries, { from: now - 24 * 60 * 60_000 + 60_000, to: now, batch: 2_000 });
const groups = Math.floor(entries / 3);
const hour = (h: number) => new Date(now - h * 60 * 60_000).toISOString();
/** Pages whose reads take longest on a large log (tools/bench/console.ts measures each). */
const HEAVY = [
  '/ui/',
  '/ui/events?type=call.failed',
  `/ui/events?since=${hour(12)}&until=${hour(11)}`,
  `/ui/calls/call_${Math.floor(groups / 6)}`,
  '/ui/deliveries?status=dead',
  `/ui/events?before=${Math.floor(entries / 2)}`,
];

const results: { round: number; build: string; cli: string; idle: Phase; loaded: Phase }[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [build, cli] of Object.entries(builds)) {
      const run = join(dir, `${build}-${round}`);
      cpSync(seed, run, { recursive: true });
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_UI_TOKEN: TOKEN, LOG_LEVEL: 'info' };
      const relay = await startChild([cli, '--db', join(run, 'bench.db'), '--rules', join(run, 'none.yaml'), 'serve', '--port', '0', '--host', '127.0.0.1'], env);
      try {
        const cookie = await signIn(relay.url);
        // the chart's day is counted in the background after a start: measure a relay past that
        await new Promise((resolve) => setTimeout(resolve, 5000));
        const idle = await sendAcks(relay.url, `${build}${round}i`);
        let stop = false;
        let pages = 0;
        const loops = Array.from({ length: readers }, async (_, r) => {
          for (let i = r; !stop; i++) {
            const answer = await fetch(relay.url + HEAVY[i % HEAVY.length]!, { headers: { cookie } });
            await answer.arrayBuffer();
            if (answer.status === 200) pages++;
          }
        });
        const sent = await sendAcks(relay.url, `${build}${round}l`);
        const loaded = { ...sent, pages_per_s: Number((pages / sent.seconds).toFixed(1)) };
        stop = true;
        await Promise.all(loops);
        results.push({ round, build, cli, idle, loaded });
        process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
      } finally {
        await relay.stop();
        rmSync(run, { recursive: true, force: true });
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ entries, acks, readers, results }, null, 1)}\n`);

/** Sends `acks` signed, unique events one after another; their latencies. Throws unless each is 200. */
async function sendAcks(base: string, tag: string): Promise<Phase> {
  const times: number[] = [];
  const begun = performance.now();
  for (let i = 0; i < acks; i++) {
    const body = JSON.stringify({
      event_id: `evt_ack_${tag}_${i}`,
      event_type: 'call.completed',
      created_at: new Date().toISOString(),
      org_id: 'org_bench',
      data: { call_id: `call_ack_${tag}_${i}`, agent_id: 'agent', status: 'completed', summary: 'bench' },
    });
    const started = performance.now();
    const answer = await fetch(`${base}/webhooks/husky`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    await answer.arrayBuffer();
    times.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}`);
  }
  times.sort((x, y) => x - y);
  const at = (q: number) => Number(times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1));
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1), seconds: Number(((performance.now() - begun) / 1000).toFixed(2)) };
}
