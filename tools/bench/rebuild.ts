import { CLI } from '../../testing/child.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/log/store.js';
import type { DeliveryError, NewEntry } from '../../src/log/types.js';

const TIME = '/usr/bin/time';

export interface RebuildBench {
  entries: number;
  seconds: number;
  entries_per_s: number;
  peak_rss_mb: number;
  /** CPU (user + system) per 1,000 entries, in ms; null without /usr/bin/time. Comparable between builds on a busy machine. */
  cpu_ms_per_1000: number | null;
}

const TYPES = ['call.initiated', 'call.answered', 'call.completed', 'call.completed', 'call.failed'];
const TRANSCRIPT = '[agent] Hi, this is Alpha from Acme. [customer] Hi! Yes, Tuesday at 3 works. [agent] Great, you are confirmed. '.repeat(6);

/**
 * The entries one event brings in a day of real traffic: the event, a plan per matching
 * action (Slack thread for every event, HubSpot for completed calls), and their attempts:
 * most succeed at once, some fail transiently first, a few are rate limited, ~2% go dead and
 * a third of those are re-driven.
 */
function eventGroup(i: number, at: string): NewEntry[] {
  const event_type = TYPES[i % TYPES.length]!;
  const call_id = `call_${Math.floor(i / 3)}`;
  const envelope = {
    event_id: `evt_bench_${i}`,
    event_type,
    created_at: at,
    org_id: 'org_bench',
    data: {
      call_id,
      agent_id: `agent_${i % 17}`,
      status: event_type.slice(5),
      ...(event_type === 'call.completed' && { duration_seconds: 60 + (i % 900), summary: 'Customer confirmed the appointment.', transcript: TRANSCRIPT }),
      to_number: '+14155550123',
      contact_email: `contact${i % 5000}@example.com`,
    },
  };
  const entries: NewEntry[] = [
    {
      type: 'event.received',
      data: { event_id: envelope.event_id, event_type, org_id: 'org_bench', created_at: at, received_at: at, call_id, body: JSON.stringify(envelope) },
    },
  ];
  const sinks = event_type === 'call.completed' ? ['slack', 'hubspot'] : ['slack'];
  sinks.forEach((sink, n) => {
    const delivery_id = `dlv_bench_${i}_${n}`;
    const request = sink === 'slack'
      ? { channel: '#sales-calls', thread_key: call_id, text: `:telephone_receiver: ${envelope.data.agent_id} ${event_type} ${call_id}` }
      : { create: 'call', contact: { email: envelope.data.contact_email }, if_no_contact: 'skip', properties: { hs_call_title: 'Call' }, upsert_key: call_id };
    entries.push({
      type: 'delivery.planned',
      data: { delivery_id, event_id: envelope.event_id, event_seq: 0, event_type, call_id, rule_id: `${sink}-rule`, action_index: 0, sink, request, order_key: call_id, rules_hash: 'bench' },
    });
    const roll = (i * 7 + n * 13) % 100;
    const failure = (kind: DeliveryError['kind'], code: string, attempt: number, retry: boolean): NewEntry => ({
      type: 'delivery.attempted',
      data: { delivery_id, attempt, outcome: 'failed', duration_ms: 30, error: { kind, code, message: code, status: 503 }, retry_at: retry ? at : null, result: null },
    });
    const success = (attempt: number): NewEntry => ({
      type: 'delivery.attempted',
      data: { delivery_id, attempt, outcome: 'succeeded', duration_ms: 80, error: null, retry_at: null, result: sink === 'slack' ? { channel: 'C123', ts: `1700000000.${i}` } : { id: String(i) } },
    });
    if (roll < 2) {
      entries.push(failure('permanent', 'channel_not_found', 1, false), { type: 'delivery.dead', data: { delivery_id, reason: 'permanent' } });
      if (i % 3 === 0) entries.push({ type: 'delivery.retried', data: { delivery_id, reason: 're-driven by id' } });
    } else if (roll < 12) entries.push(failure('transient', 'http_503', 1, true), success(2));
    else if (roll < 14) entries.push(failure('rate_limited', 'ratelimited', 1, true), success(1));
    else if (roll < 16) entries.push(failure('transient', 'timeout', 1, true)); // still retrying
    else if (roll >= 19) entries.push(success(1)); // 16-18: not attempted yet
  });
  return entries;
}

/** A log of exactly `n` entries, appended in big transactions through the Log (projections included). */
export async function generateLog(dbPath: string, n: number): Promise<void> {
  // a scratch file for the bench: no need to wait for the disk
  const store = await openStore(dbPath, { now: () => new Date('2026-06-01T10:00:00.000Z'), unsynced: true });
  let written = 0;
  let i = 0;
  while (written < n) {
    const batch: NewEntry[] = [];
    while (batch.length < 20_000 && written + batch.length < n) batch.push(...eventGroup(i++, '2026-06-01T10:00:00.000Z'));
    batch.length = Math.min(batch.length, n - written);
    await store.writer.append(batch);
    written += batch.length;
  }
  await store.close();
}

/** Runs `node dist/cli.js replay --rebuild` and measures its wall time and peak RSS. */
async function timeRebuild(dbPath: string): Promise<{ seconds: number; peakRssMb: number; cpuSeconds: number | null }> {
  const useTime = existsSync(TIME);
  // without /usr/bin/time the child reports its own peak (getrusage maxrss, the same figure as VmHWM)
  const report = 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss_kb="+process.resourceUsage().maxRSS+"\\n"))';
  const node = [process.execPath, ...(useTime ? [] : ['--import', report]), CLI, '--db', dbPath, 'replay', '--rebuild'];
  const [command, ...args] = useTime ? [TIME, '-f', 'maxrss_kb=%M cpu_s=%U+%S', ...node] : node;
  const started = performance.now();
  const child = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`replay --rebuild exited with ${code}: ${stderr}`);
  const kb = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? NaN);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(stderr);
  return { seconds, peakRssMb: Math.round(kb / 1024), cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : null };
}

/** `replay --rebuild` over a generated log of `entries` entries, as a separate process. */
export async function benchRebuild(entries: number): Promise<RebuildBench> {
  const dir = mkdtempSync(join(tmpdir(), 'husky-bench-rebuild-'));
  try {
    const dbPath = join(dir, 'bench.db');
    await generateLog(dbPath, entries);
    const { seconds, peakRssMb, cpuSeconds } = await timeRebuild(dbPath);
    const cpu_ms_per_1000 = cpuSeconds === null ? null : Number(((cpuSeconds * 1e6) / entries).toFixed(2));
    return { entries, seconds: Number(seconds.toFixed(2)), entries_per_s: Math.round(entries / seconds), peak_rss_mb: peakRssMb, cpu_ms_per_1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
