import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/log/sqlite/migrations.js';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import type { NewEntry } from '../src/log/types.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { tempDir } from './helpers/relay.js';
import { envelopeOf, steppingClock } from './helpers/replay-scenario.js';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir('husky-upgrade-text-');
});
afterEach(() => temp.cleanup());

const LONG_CHANNEL = `#c-${'x'.repeat(300)}`;
const NUL_CHANNEL = '#a\u0000b';
const DEAD_REASON = 'http_400: HTTP 400: bad\u0000 "quoted" \ud800 thing';
const PAUSE_REASON = 'unauthorized: HTTP 401: \u0000\udc00';

function plan(id: string, channel: string, order_key: string | null, sink = 'slack'): NewEntry {
  return {
    type: 'delivery.planned',
    data: { delivery_id: id, event_id: 'e_1', event_seq: 1, event_type: 'call.initiated', call_id: 'call_1', rule_id: 'thread', action_index: 0, sink, request: { channel, text: 'hi' }, order_key, rules_hash: 'h1' },
  };
}
const succeeded = (id: string, ts: string): NewEntry => ({
  type: 'delivery.attempted',
  data: { delivery_id: id, attempt: 1, outcome: 'succeeded', duration_ms: 3, error: null, retry_at: null, result: { channel: 'C1', ts } },
});

/**
 * A log with what the release before schema version 6 stored unlike the projector now does: a
 * Slack channel past 256 characters and one with U+0000 as key scopes, U+0000 and unpaired
 * surrogates in a dead letter's and a pause's reason.
 */
function writeLog(dbPath: string): void {
  const envelope = envelopeOf('e_1', 'call.initiated', 1);
  const log = new SqliteLog(dbPath, { now: steppingClock() });
  log.append([
    { type: 'event.received', data: { event_id: 'e_1', event_type: 'call.initiated', org_id: envelope.org_id, created_at: envelope.created_at, received_at: '2026-06-01T09:00:00.000Z', call_id: 'call_1', body: JSON.stringify(envelope) } },
  ]);
  log.append([plan('d_long', LONG_CHANNEL, 'call_1'), succeeded('d_long', '1.1')]);
  log.append([plan('d_nul', NUL_CHANNEL, 'call_1'), succeeded('d_nul', '1.2')]);
  log.append([plan('d_dead', '#ok', null, 'audit'), { type: 'delivery.dead', data: { delivery_id: 'd_dead', reason: DEAD_REASON } }]);
  log.append([{ type: 'sink.paused', data: { sink: 'audit', reason: PAUSE_REASON, code: 'unauthorized', delivery_id: 'd_dead' } }]);
  log.close();
}

/** Puts back what the previous release stored (raw text: better-sqlite3 writes a lone surrogate as its 3 bytes) at schema version 5. */
function asThePreviousReleaseLeftIt(dbPath: string, what: { scopes?: boolean; reasons?: boolean }): void {
  const db = new Database(dbPath);
  if (what.scopes) {
    db.prepare('UPDATE p_deliveries SET key_scope = ? WHERE delivery_id = ?').run(LONG_CHANNEL, 'd_long');
    db.prepare('UPDATE p_deliveries SET key_scope = ? WHERE delivery_id = ?').run(NUL_CHANNEL, 'd_nul');
    db.prepare("UPDATE p_key_state SET key_scope = ? WHERE key_scope LIKE 'sha256:%'").run(LONG_CHANNEL);
    db.prepare("UPDATE p_key_state SET key_scope = ? WHERE key_scope LIKE '#a%b'").run(NUL_CHANNEL);
  }
  if (what.reasons) {
    db.prepare('UPDATE p_deliveries SET dead_reason = ? WHERE delivery_id = ?').run(DEAD_REASON, 'd_dead');
    db.prepare('UPDATE p_sink_state SET paused_reason = ? WHERE sink = ?').run(PAUSE_REASON, 'audit');
  }
  // and without what migration 8 added (where the log starts), as that release had no such thing
  db.exec(`DROP TRIGGER entries_no_delete; DROP TABLE log_start; DROP INDEX p_calls_last_event;
    CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;`);
  db.pragma('user_version = 5');
  db.close();
}

describe('a SQLite log written by the release before key scopes and reasons were stored as storable text', () => {
  it('has its key scopes stored as the projector stores them when opened: replay --verify agrees and a long channel\'s thread continues', async () => {
    // Given such a log, with its channels stored as they were rendered
    const dbPath = join(temp.dir, 'old.db');
    writeLog(dbPath);
    asThePreviousReleaseLeftIt(dbPath, { scopes: true });

    // When this husky-relay opens it (and migrates it)
    const log = new SqliteLog(dbPath);

    // Then the projections are what the projector makes of the log
    expect(log.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await verifyProjections(log.db)).differences).toEqual([]);
    // and the thread of the long channel is found under the key scope new plans get
    const scopes = log.db.prepare('SELECT key_scope FROM p_key_state ORDER BY key_scope').pluck().all() as string[];
    expect(scopes).toEqual(['#a\uFFFDb', expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    log.close();
  });

  it('has its dead letters\' and pauses\' reasons stored as the projector stores them when opened: replay --verify agrees', async () => {
    // Given such a log, with a dead letter's and a pause's reason holding U+0000 and unpaired surrogates as they were
    const dbPath = join(temp.dir, 'old.db');
    writeLog(dbPath);
    asThePreviousReleaseLeftIt(dbPath, { reasons: true });

    // When this husky-relay opens it (and migrates it)
    const log = new SqliteLog(dbPath);

    // Then the projections are what the projector makes of the log
    expect((await verifyProjections(log.db)).differences).toEqual([]);
    expect(log.db.prepare("SELECT dead_reason FROM p_deliveries WHERE delivery_id = 'd_dead'").pluck().get()).toBe('http_400: HTTP 400: bad\uFFFD "quoted" \uFFFD thing');
    expect(log.db.prepare("SELECT paused_reason FROM p_sink_state WHERE sink = 'audit'").pluck().get()).toBe('unauthorized: HTTP 401: \uFFFD\uFFFD');
    log.close();
  });
});
