import { fileURLToPath } from 'node:url';
import { CLI } from '../../testing/child.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type Store } from '../../src/log/store.js';
import { isPostgresUrl } from '../../src/log/location.js';
import { THROWAWAY_MASTER_KEY } from '../../testing/pg.js';
import type { NewEntry } from '../../src/log/types.js';
import { startChild, type Child } from './processes.js';

const BARE_KOA = fileURLToPath(new URL('./bare-koa.js', import.meta.url));

export interface PhaseResult {
  items: number;
  seconds: number;
  per_s: number;
  peak_rss_mb: number;
  /** The relay's CPU (all threads) per item from start to done, in ms: comparable between builds on a busy machine. */
  cpu_ms_per_item: number;
}

/** N logged events, as HuskyVoice would have sent them over a day, appended in big batches. */
export async function seedEvents(dbPath: string, n: number): Promise<void> {
  const store = await openStore(dbPath, benchKeys(dbPath));
  const types = ['call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed'];
  for (let start = 0; start < n; start += 5000) {
    const entries: NewEntry[] = [];
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const event_type = types[i % types.length]!;
      const envelope = {
        event_id: `evt_seed_${i}`,
        event_type,
        created_at: '2026-06-01T10:00:00Z',
        org_id: 'org_bench',
        data: { call_id: `call_${Math.floor(i / 5)}`, agent_id: 'agent_alpha', status: event_type.slice(5), duration_seconds: 124, summary: 'Customer confirmed appointment.', to_number: '+14155550123' },
      };
      entries.push({
        type: 'event.received',
        data: { event_id: envelope.event_id, event_type, org_id: 'org_bench', created_at: envelope.created_at, received_at: new Date().toISOString(), call_id: envelope.data.call_id, body: JSON.stringify(envelope) },
      });
    }
    await store.writer.append(entries);
  }
  await store.close();
}

/** What a phase reports: `items` done in `seconds`, by `child` whose CPU was `cpuAtStart` ms when it began. */
const result = (items: number, seconds: number, child: Child, cpuAtStart: number): PhaseResult => ({
  items,
  seconds,
  per_s: Math.round(items / seconds),
  peak_rss_mb: child.peakRssMb(),
  cpu_ms_per_item: Number(((child.cpuMs() - cpuAtStart) / items).toFixed(3)),
});

async function until(check: () => Promise<boolean>, child: Child, capSeconds: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (child.process.exitCode !== null) throw new Error('the relay exited during the bench');
    if (performance.now() - started > capSeconds * 1000) throw new Error(`not done after ${capSeconds}s`);
    await sleep(20);
  }
  return (performance.now() - started) / 1000;
}

async function withRelay<T>(rules: string, events: number, run: (child: Child, store: Store) => Promise<T>, location?: string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'husky-bench-'));
  try {
    const dbPath = location ?? join(dir, 'bench.db');
    await seedEvents(dbPath, events);
    writeFileSync(join(dir, 'rules.yaml'), rules);
    const child = await startChild(
      [CLI, '--db', dbPath, '--rules', join(dir, 'rules.yaml'), 'serve', '--no-ui', '--port', '0', '--host', '127.0.0.1'],
      { ...process.env, HUSKY_WEBHOOK_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'info', HUSKY_RELAY_MASTER_KEY: benchKeys(dbPath).masterKeys },
    );
    const store = await openStore(dbPath, benchKeys(dbPath));
    try {
      return await run(child, store);
    } finally {
      await store.close();
      await child.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


/**
 * Routing: a log of N events is already there when the relay starts; time until the router
 * has planned them all (two actions an event, to a sink left disabled so nothing is sent).
 */
export async function benchRouting(events: number): Promise<PhaseResult> {
  const rules = `version: 1
sinks:
  parked: { type: http, url: "http://127.0.0.1:9/", secret: "\${BENCH_UNSET_SECRET}" }
rules:
  - id: every-call
    on: "call.*"
    actions:
      - sink: parked
        body: { call: "{{ data.call_id }}", text: "{{ data.agent_id }} {{ event.event_type }} ({{ data.duration_seconds | duration }})" }
  - id: completed
    on: call.completed
    when: data.duration_seconds >= 30
    actions:
      - sink: parked
        body: { summary: "{{ data.summary }}" }
`;
  return withRelay(rules, events, async (child, store) => {
    // the router's checkpoint is the last event it planned; the log's last entry may be the
    // relay's own `rules.loaded`, which the router never reaches
    const cpu = 0; // routing starts before the relay listens: count its CPU from its start
    const last = (await store.log.lastOfType('event.received'))!.seq;
    const seconds = await until(async () => (await store.log.checkpoint('router')) >= last, child, 300);
    return result(events, seconds, child, cpu);
  });
}

/**
 * Dispatch: N events, one delivery each to an HTTP sink that answers at once (a bare
 * handler in another process); time until every delivery has succeeded, each attempt
 * durably recorded. Includes routing, so it is a floor for dispatch alone. `location`: the log
 * (a `postgres://` URL), else a SQLite file in a temp folder.
 */
export async function benchDispatch(events: number, location?: string): Promise<PhaseResult> {
  const sink = await startChild([BARE_KOA], process.env);
  try {
    const rules = `version: 1
sinks:
  instant: { type: http, url: "${sink.url}/hook", secret: "whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=", concurrency: 32 }
rules:
  - id: forward
    on: "*"
    actions:
      - sink: instant
`;
    return await withRelay(rules, events, async (child, store) => {
      const cpu = child.cpuMs();
      const seconds = await until(
        async () => (await store.projections.status(null)).deliveries.succeeded >= events,
        child,
        600,
      );
      return result(events, seconds, child, cpu);
    }, location);
  } finally {
    await sink.stop();
  }
}

/** A PostgreSQL log's master key (it requires one); nothing for SQLite (its generated key file). */
function benchKeys(location: string): { masterKeys?: string } {
  return isPostgresUrl(location) ? { masterKeys: THROWAWAY_MASTER_KEY } : {};
}
