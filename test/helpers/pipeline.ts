import { readFileSync, writeFileSync } from 'node:fs';
import { SharedClock } from '../../src/clock.js';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { SqliteLog } from '../../src/log/sqlite/sqlite-log.js';
import type { Entry, EntryDataByType, EntryType } from '../../src/log/types.js';
import { listDeliveries, type DeliveryRow } from '../../src/project/queries.js';
import { ROUTER_CHECKPOINT } from '../../src/route/router.js';
import { startTestRelay, type TestRelay } from './relay.js';
import type { RelayOptions } from '../../src/relay.js';

/**
 * Helpers for tests of routing and delivery: a relay with a rules file, a clock the test
 * moves, bounded waits on asynchronous progress, and readers of the log and projections.
 */

/** How often router and dispatcher look for work in tests. */
export const POLL_MS = 20;

/** A clock the test moves by hand (ms since the epoch). Starts at a fixed, recent instant. */
export class ManualClock extends SharedClock {
  constructor(start = Date.parse('2026-06-01T12:00:00.000Z')) {
    super(start);
  }
  iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }
}

/**
 * Polls `condition` until it is true, at most `timeoutMs`, calling `onPoll` between looks
 * (e.g. to move a manual clock). Throws naming `what` and the last value seen.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what?: string; onPoll?: () => void; describe?: () => unknown } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      const seen = options.describe ? `\nlast seen: ${JSON.stringify(options.describe(), null, 2)}` : '';
      throw new Error(`timed out waiting for ${options.what ?? 'a condition'}${seen}`);
    }
    options.onPoll?.();
    await delay(10);
  }
}

/**
 * Lets router and dispatcher run several passes, for assertions that something did NOT
 * happen (there is no event to wait for).
 */
export function settle(passes = 8): Promise<void> {
  return delay(POLL_MS * passes);
}

/** A sample event from `test/fixtures/<type>.json`, as bytes, optionally changed. */
export function fixture(type: string, change: (envelope: Record<string, any>) => void = () => {}): string {
  const path = fileURLToPath(new URL(`../fixtures/${type}.json`, import.meta.url));
  const envelope = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  change(envelope);
  return JSON.stringify(envelope);
}

/** rules.example.yaml, as shipped. */
export const EXAMPLE_RULES = fileURLToPath(new URL('../../rules.example.yaml', import.meta.url));

export function writeRules(dir: string, yaml: string, name = 'rules.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

export interface RoutingRelayOptions extends Partial<RelayOptions> {
  dir?: string;
}

/** A test relay that routes and delivers, looking for work every POLL_MS, jitter-free. */
export function startRoutingRelay(options: RoutingRelayOptions): Promise<TestRelay> {
  return startTestRelay({ pollMs: POLL_MS, random: 0.5, env: {}, shutdownGraceMs: 5000, ...options });
}

/**
 * A routing relay whose every entry is stamped by `clock`, the webhook thread's as well as the
 * pipeline's: stale work (`alerts.pending_after`) is measured on it.
 */
export function startClockedRelay(options: RoutingRelayOptions & { clock: ManualClock }): Promise<TestRelay> {
  return startRoutingRelay({ ...options, now: () => new Date(options.clock.now()) });
}

/** Posts a signed event and checks it was logged. */
export async function postEvent(relay: TestRelay, body: string): Promise<number> {
  const answer = await relay.postSigned(body);
  if (answer.status !== 200) throw new Error(`event refused: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.seq as number;
}

export function entriesOf<T extends EntryType>(log: SqliteLog, type: T): (Entry & { type: T; data: EntryDataByType[T] })[] {
  return log.read(0, { types: [type] }) as (Entry & { type: T; data: EntryDataByType[T] })[];
}

export function routerCheckpoint(log: SqliteLog): number {
  return log.checkpoint(ROUTER_CHECKPOINT);
}

export function deliveriesOf(log: SqliteLog, filter: { sink?: string; status?: string } = {}): DeliveryRow[] {
  return listDeliveries(log.db, filter).reverse(); // oldest first
}

export function deliveryRow(log: SqliteLog, id: string): DeliveryRow | undefined {
  return listDeliveries(log.db, { ids: [id] })[0];
}

export function statusOf(log: SqliteLog, id: string): string | undefined {
  return deliveryRow(log, id)?.status;
}

/** All deliveries planned so far have this status (and there are `count` of them). */
export function allHaveStatus(log: SqliteLog, status: string, count: number, sink?: string): boolean {
  const rows = deliveriesOf(log, { sink });
  return rows.length === count && rows.every((r) => r.status === status);
}
