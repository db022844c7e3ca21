import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeHttp } from '../../testing/fakes/fake-http.js';
import { startFakeHubspot } from '../../testing/fakes/fake-hubspot.js';
import { startFakeSlack } from '../../testing/fakes/fake-slack.js';
import { childEnv, freePort, ROOT, runCli, startRelayChild, waitFor } from '../../testing/child.js';
import type { StatusReport } from '../../src/project/queries.js';
import { audit } from './audit.js';
import { countAccepted, randomFaults, type FaultRates, type FaultTally } from './chaos.js';
import { calls, CONTACT_EMAILS, percentile, sendStream } from './traffic.js';
import { count } from '../../src/count.js';

/**
 * `npm run soak [-- --minutes 3 --rate 200]`: the real relay, a steady signed stream, sinks
 * that fail at random (429 + Retry-After 1, 500, hangs past the 2 s timeout), RSS sampled
 * every 5 s; then it settles and counts. Exit 1 if anything acked or planned is lost.
 * Not part of `npm test`: it takes minutes and measures, it does not assert timings.
 * The relay runs with the Node options of `deploy/husky-relay.service` (its heap bound), so
 * the RSS it reports is the deployed one; `--node-options` overrides them.
 */
const UNIT = join(ROOT, 'deploy', 'husky-relay.service');
const deployedNodeOptions = /^Environment=NODE_OPTIONS=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1] ?? '';

const USAGE = `usage: npm run soak [-- --minutes 3] [--rate 200] [--settle-minutes 5] [--p429 0.0005] [--p500 0.02]
       [--phang 0.001] [--log-level info] [--node-options "…"] [--no-deliveries] [--keep]
A steady signed stream at --rate events/s for --minutes into the real relay, sinks failing at
random with the given probabilities; then it settles and counts. Exit 1 if anything is lost.
--no-deliveries: the same stream with rules that match nothing (the router reads each event and
plans nothing: the floor of the relay's acknowledgements on this machine, with no deliveries).
`;
let parsed;
try {
  parsed = parseArgs({ options: {
    help: { type: 'boolean', short: 'h', default: false },
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    'settle-minutes': { type: 'string', default: '5' },
    'p429': { type: 'string', default: '0.0005' },
    'p500': { type: 'string', default: '0.02' },
    'phang': { type: 'string', default: '0.001' },
    'log-level': { type: 'string', default: 'info' },
    'node-options': { type: 'string', default: deployedNodeOptions },
    keep: { type: 'boolean', default: false },
    'no-deliveries': { type: 'boolean', default: false },
  } });
} catch (error) {
  process.stderr.write(`soak: ${(error as Error).message}\n${USAGE}`);
  process.exit(1);
}
const { values: args } = parsed;
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const number = (name: keyof typeof args): number => {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`soak: --${name} must be a non-negative number, got "${String(args[name])}"\n`);
    process.exit(1);
  }
  return value;
};
const minutes = number('minutes');
const rate = number('rate');
const rates: FaultRates = { rateLimited: number('p429'), serverError: number('p500'), hang: number('phang') };

// Every sink times out after 2 s so a hang costs little; retries are quick so the run settles.
const RULES = `version: 1
sinks:
  slack:
    type: slack
    token: "\${SLACK_BOT_TOKEN}"
    timeout: 2s
    concurrency: 8
  hubspot:
    type: hubspot
    access_token: "\${HUBSPOT_ACCESS_TOKEN}"
    timeout: 2s
    concurrency: 8
  audit:
    type: http
    url: "\${AUDIT_URL}"
    secret: "\${AUDIT_SECRET}"
    timeout: 2s
    concurrency: 8
retry: { max_attempts: 10, initial_delay: 250ms, max_delay: 5s }
rules:
  - id: thread
    on: call.*
    actions:
      - sink: slack
        channel: "#soak"
        thread_key: "{{ data.call_id }}"
        text: "{{ event.event_type }} {{ data.call_id }}"
  - id: crm
    on: call.completed
    actions:
      - sink: hubspot
        create: call
        contact: { email: "{{ data.contact_email }}" }
        if_no_contact: skip
  - id: audit
    on: "*"
    actions:
      - sink: audit
`;
// --no-deliveries: the same sinks, and one rule on an event type HuskyVoice never sends
const NO_DELIVERIES = `${RULES.slice(0, RULES.indexOf('rules:'))}rules:
  - id: never
    on: soak.never
    actions:
      - sink: audit
`;
const quiet = args['no-deliveries'] === true;
/** Deliveries the rules above plan for one event. */
const expectedFor = (type: string) => (quiet ? 0 : type === 'call.completed' ? 3 : type.startsWith('call.') ? 2 : 1);

const say = (...lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
const clock = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

const dir = mkdtempSync(join(tmpdir(), 'husky-relay-soak-'));
const relayLog = join(dir, 'relay.log');
writeFileSync(join(dir, 'rules.yaml'), quiet ? NO_DELIVERIES : RULES);
const slack = await startFakeSlack({ token: 'xoxb-soak', record: false });
const hubspot = await startFakeHubspot({ token: 'pat-soak', record: false });
const receiver = await startFakeHttp({ record: false });
for (const email of CONTACT_EMAILS) hubspot.seedContact({ email });
const faults = { slack: randomFaults(rates, Math.random), hubspot: randomFaults(rates, Math.random), audit: randomFaults(rates, Math.random) };
const accepted = countAccepted(faults.audit.chaos);
slack.chaos(faults.slack.chaos);
hubspot.chaos(faults.hubspot.chaos);
receiver.chaos(accepted.chaos);

const secret = `hsk_soak_${randomBytes(18).toString('base64url')}`;
const env = childEnv({
  HUSKY_WEBHOOK_SECRET: secret,
  HUSKY_RELAY_DB: join(dir, 'husky-relay.db'),
  HUSKY_RELAY_RULES: join(dir, 'rules.yaml'),
  SLACK_API_URL: slack.url,
  HUBSPOT_BASE_URL: hubspot.url,
  SLACK_BOT_TOKEN: 'xoxb-soak',
  HUBSPOT_ACCESS_TOKEN: 'pat-soak',
  AUDIT_URL: receiver.url,
  AUDIT_SECRET: 'whsec_c29hay1zb2FrLXNvYWstc29hay1zb2FrLXNvYWs=',
  LOG_LEVEL: args['log-level']!,
});
const nodeOptions = args['node-options']!;
const relay = await startRelayChild({ port: await freePort(), env: { ...env, NODE_OPTIONS: nodeOptions }, logFile: relayLog });
say(`soak: ${minutes} min at ${rate} events/s → ${relay.url} (pid ${relay.process.pid}, NODE_OPTIONS "${nodeOptions}"); ` +
  `faults per request: 429 ${rates.rateLimited}, 500 ${rates.serverError}, hang ${rates.hang}; work dir ${dir}`);

const status = async (): Promise<StatusReport> => {
  const result = await runCli(['status', '--json'], env, 60_000);
  if (result.code !== 0) throw new Error(`status --json failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusReport;
};
/** The relay's own `/metrics` text, or undefined while it cannot be read. */
const metricsText = async (): Promise<string | undefined> => {
  try {
    return await (await fetch(`${relay.url}/metrics`)).text();
  } catch {
    return undefined;
  }
};
/** The sum of a metric's series in `/metrics` text whose labels match `labels` (a regex on the label text). */
const sumOf = (text: string, name: string, labels = '') =>
  [...text.matchAll(new RegExp(`^husky_relay_${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].filter((m) => new RegExp(labels).test(m[1] ?? '')).reduce((n, m) => n + Number(m[2]), 0);
/**
 * Progress read off the relay's `/metrics` (one HTTP request, as a Prometheus scrape would make):
 * its V8 heap, used (live objects and garbage not yet collected) and total (what V8 holds), so a
 * rising RSS can be told apart from live objects piling up, and what it took and delivered. Not
 * `status --json`: a CLI process every 5 s (node's start, the log opened) took CPU from the
 * relay it measured.
 */
const progress = async () => {
  const text = await metricsText();
  if (text === undefined) return undefined;
  const mb = (name: string) => sumOf(text, name) / 2 ** 20;
  return {
    used: mb('nodejs_heap_size_used_bytes'),
    total: mb('nodejs_heap_size_total_bytes'),
    events: sumOf(text, 'events_received_total', 'outcome="accepted"'),
    succeeded: sumOf(text, 'deliveries_total', 'outcome="succeeded"'),
    pending: sumOf(text, 'deliveries_open', 'status="pending"'),
    retrying: sumOf(text, 'deliveries_open', 'status="retrying"'),
    dead: sumOf(text, 'deliveries_dead'),
  };
};
/**
 * Ack latency as the relay itself measures it (`husky_relay_ingest_seconds`, request in to
 * answer out): the bucket bounds that hold the 50th and 99th percentile, and the share of
 * requests answered within 5 ms (a bucket bound; the ack target of README "Performance"), in
 * %. The sender's own figure also holds this process's event loop, which serves the fake sinks too.
 */
const relayLatency = async (name = 'ingest_seconds'): Promise<{ p50: string; p99: string; within5ms: string } | undefined> => {
  const text = await metricsText();
  const buckets = [...(text ?? '').matchAll(new RegExp(`^husky_relay_${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => ({ le: m[1]!, n: Number(m[2]) }));
  const total = buckets[buckets.length - 1]?.n ?? 0;
  if (total === 0) return undefined;
  const bound = (p: number) => {
    const le = buckets.find((b) => b.n >= (p / 100) * total)!.le;
    return le === '+Inf' ? `> ${buckets[buckets.length - 2]!.le} s` : `≤ ${Number(le) * 1000} ms`;
  };
  const within = buckets.find((b) => b.le === '0.005')?.n;
  return { p50: bound(50), p99: bound(99), within5ms: within === undefined ? '?' : `${((100 * within) / total).toFixed(2)} %` };
};
const started = Date.now();
const rss: { at: number; mb: number; heapUsed?: number; heapTotal?: number }[] = [];
let sampling = false;
const sampler = setInterval(() => {
  if (sampling) return;
  sampling = true;
  const mb = relay.rssMb();
  const sample: (typeof rss)[number] = { at: Date.now() - started, mb };
  rss.push(sample);
  void progress()
    .then((p) => {
      if (p === undefined) throw new Error('/metrics could not be read');
      sample.heapUsed = p.used;
      sample.heapTotal = p.total;
      say(`  ${clock(Date.now() - started)}  RSS ${mb.toFixed(0)} MB  heap ${p.used.toFixed(0)}/${p.total.toFixed(0)} MB  events ${p.events}  deliveries: ${p.succeeded} succeeded, ${p.pending} pending, ${p.retrying} retrying, ${p.dead} dead`);
    })
    .catch((error: Error) => say(`  ${clock(Date.now() - started)}  RSS ${mb.toFixed(0)} MB  (progress failed: ${error.message})`))
    .finally(() => (sampling = false));
}, 5_000);

let exitCode = 0;
try {
  const runId = randomBytes(3).toString('hex');
  const cpuAtStart = relay.cpuMs();
  const counts = await sendStream({ url: `${relay.url}/webhooks/husky`, secret, rate, durationMs: minutes * 60_000, events: calls(runId, Math.random) });
  const sendingMs = Date.now() - started;
  // while sending at a steady rate, routing and delivery keep up: this is the cost of an event with its deliveries
  const cpuSending = relay.cpuMs() - cpuAtStart;
  say(`  ${clock(sendingMs)}  stopped sending: ${counts.sent} sent, ${counts.acked.size} acked; waiting for deliveries to settle (at most ${args['settle-minutes']} min)`);

  let previousSeq = -1;
  const settled = await waitFor(async () => {
    const s = await status();
    const quiet = s.deliveries.pending + s.deliveries.retrying === 0 && s.last_seq === previousSeq;
    previousSeq = s.last_seq;
    return quiet ? s : undefined;
  }, number('settle-minutes') * 60_000, 2_000);
  const settleMs = Date.now() - started - sendingMs;
  // all of the events' work, the deliveries that fell behind included: what compares a steady rate with full load
  const cpuSettled = relay.cpuMs() - cpuAtStart;
  clearInterval(sampler);
  rss.push({ at: Date.now() - started, mb: relay.rssMb() });

  const result = await audit(env, counts.acked, expectedFor);
  const final = await status();
  const measured = await relayLatency();
  // where an ack's time went: waiting for the writer (busy with the pipeline's commits), then its own commit
  const [waited, committed] = [await relayLatency('commit_wait_seconds'), await relayLatency('commit_seconds')];
  const code = await relay.stop();
  const distinct = accepted.accepted.size;
  const repeated = [...accepted.accepted.values()].filter((n) => n > 1).length;
  const tally = (t: FaultTally) => `${count(t.requests, 'request', 'requests')}, 429×${t.rateLimited} 500×${t.serverError} hang×${t.hang}`;
  const mbs = rss.map((s) => s.mb);
  const minutely = rss.filter((_, i) => i % 12 === 11);
  const perMinute = minutely.map((s) => `${clock(s.at)} ${s.mb.toFixed(0)}`);
  const heapPerMinute = minutely.map((s) => `${clock(s.at)} ${s.heapUsed?.toFixed(0) ?? '?'}/${s.heapTotal?.toFixed(0) ?? '?'}`);

  say(
    '',
    `RESULT (${minutes} min at ${rate}/s, settled ${settled ? 'in' : 'NOT within'} ${(settleMs / 1000).toFixed(0)} s, relay exit ${code})`,
    `  events      sent ${counts.sent}, acked ${counts.acked.size} (${counts.duplicates} as duplicates after a retry), send failures ${counts.failed}, resends ${counts.retries}, sender behind ${counts.behind}×`,
    `              ack latency p50 ${percentile(counts.latencies, 50).toFixed(1)} ms, p99 ${percentile(counts.latencies, 99).toFixed(1)} ms at the sender; ` +
      (measured ? `p50 ${measured.p50}, p99 ${measured.p99} in the relay (${measured.within5ms} within 5 ms)` : 'the relay\'s own figure could not be read'),
    `              webhooks' commits: waited for the writer p50 ${waited?.p50 ?? '?'}, p99 ${waited?.p99 ?? '?'}; took p50 ${committed?.p50 ?? '?'}, p99 ${committed?.p99 ?? '?'}`,
    `              relay CPU ${(cpuSending / Math.max(1, counts.acked.size)).toFixed(2)} ms per acked event while sending (${(cpuSending / 1000).toFixed(0)} s of CPU over ${(sendingMs / 1000).toFixed(0)} s, every thread; ingest, routing and delivery)`,
    `              relay CPU ${(cpuSettled / Math.max(1, counts.acked.size)).toFixed(2)} ms per acked event until settled (${(cpuSettled / 1000).toFixed(0)} s of CPU: every delivery done, those that fell behind included)`,
    `              in the log ${result.eventsInLog} (status: ${final.events.total}); acked but missing ${result.ackedMissing}`,
    `  deliveries  planned ${result.planned} (the rules call for ${result.expectedPlanned}); never planned ${result.unplanned}`,
    `              succeeded ${result.byStatus.succeeded}, dead ${result.byStatus.dead}, retrying ${result.byStatus.retrying}, pending ${result.byStatus.pending}`,
    ...Object.entries(result.bySink).map(([sink, c]) => `              ${sink.padEnd(8)} succeeded ${c.succeeded}, dead ${c.dead}, retrying ${c.retrying}, pending ${c.pending}`),
    ...Object.entries(result.deadReasons).map(([reason, n]) => `              dead because ${reason}: ${n}`),
    `  faults      slack ${tally(faults.slack.tally)}`,
    `              hubspot ${tally(faults.hubspot.tally)}`,
    `              audit ${tally(faults.audit.tally)}`,
    `  receiver    the HTTP receiver accepted ${distinct} distinct webhook-ids (audit succeeded ${result.bySink['audit']?.succeeded ?? 0}); ${repeated} came more than once (at-least-once)`,
    `  RSS (MB)    first ${mbs[0]?.toFixed(0)}, max ${Math.max(...mbs).toFixed(0)}, last ${mbs[mbs.length - 1]?.toFixed(0)}; per minute: ${perMinute.join(', ')}`,
    `  heap (MB)   used/total per minute: ${heapPerMinute.join(', ')}`,
    `  LOST        ${result.lost}${result.lost === 0 ? '' : '  ← acked-missing + never-planned + still-pending'}`,
  );
  if (result.lost > 0 || counts.failed > 0) exitCode = 1;
} catch (error) {
  say(`soak failed: ${(error as Error).stack ?? String(error)}`);
  say(`last lines of the relay's output:\n${readFileSync(relayLog, 'utf8').split('\n').slice(-20).join('\n')}`);
  exitCode = 2;
} finally {
  clearInterval(sampler);
  await relay.stop();
  await Promise.all([slack.close(), hubspot.close(), receiver.close()]);
  if (args.keep) say(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
