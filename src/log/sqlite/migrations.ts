import type { Database } from 'better-sqlite3';
import { EnvironmentError } from '../../os-errors.js';
import { storableKey } from '../text.js';

/**
 * `PRAGMA application_id` of a husky-relay database ("HkRl"), set by the first migration, so
 * that the relay knows its own files from other applications' SQLite files. Files made before
 * it was set are known by their `entries` table.
 */
export const APPLICATION_ID = 0x486b526c;

/**
 * Schema migrations, applied in order; `PRAGMA user_version` is the version reached.
 * The `entries` table is the log: append-only (triggers refuse UPDATE and DELETE), global
 * order `seq`. Tables named `p_*` are projections: derived from the log, rebuildable.
 */
const MIGRATIONS: string[] = [
  // 1: the log and its projections
  `
  CREATE TABLE entries (
    seq        INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,
    data       TEXT NOT NULL CHECK (json_valid(data)),
    -- 'event:<event_id>' or 'delivery:<delivery_id>': the last line of defence against
    -- double appends, forever and across restarts
    dedupe_key TEXT UNIQUE
  );
  CREATE INDEX entries_type_seq ON entries (type, seq);
  CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be updated'); END;
  CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;
  -- REPLACE deletes without firing DELETE triggers: refuse overwriting a seq outright, and
  -- make a replace by dedupe_key a no-op so ON CONFLICT DO NOTHING keeps reporting duplicates
  CREATE TRIGGER entries_no_replace_seq BEFORE INSERT ON entries
    WHEN NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM entries WHERE seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be replaced'); END;
  CREATE TRIGGER entries_no_replace_key BEFORE INSERT ON entries
    WHEN NEW.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM entries WHERE dedupe_key = NEW.dedupe_key)
    BEGIN SELECT RAISE(IGNORE); END;

  CREATE TABLE p_events_by_type (
    event_type TEXT PRIMARY KEY,
    n          INTEGER NOT NULL
  );
  CREATE TABLE p_calls (
    call_id         TEXT PRIMARY KEY,
    org_id          TEXT,
    last_event_type TEXT NOT NULL,
    last_event_seq  INTEGER NOT NULL,
    events          INTEGER NOT NULL
  );
  CREATE TABLE p_deliveries (
    delivery_id     TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL UNIQUE,
    event_id        TEXT NOT NULL,
    event_seq       INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    action_index    INTEGER NOT NULL,
    sink            TEXT NOT NULL,
    order_key       TEXT,
    key_scope       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    round_failures  INTEGER NOT NULL,
    last_error      TEXT,
    next_attempt_at TEXT,
    planned_at      TEXT NOT NULL,
    result          TEXT
  );
  CREATE INDEX p_deliveries_status ON p_deliveries (status, sink, seq);
  -- the dispatcher's scan: open deliveries of a sink in log order, stopping at its limit
  CREATE INDEX p_deliveries_open ON p_deliveries (sink, seq) WHERE status IN ('pending', 'retrying');
  CREATE INDEX p_deliveries_key ON p_deliveries (sink, order_key, seq) WHERE order_key IS NOT NULL;
  CREATE TABLE p_key_state (
    sink      TEXT NOT NULL,
    order_key TEXT NOT NULL,
    key_scope TEXT NOT NULL,
    result    TEXT NOT NULL,
    PRIMARY KEY (sink, order_key, key_scope)
  );
  CREATE TABLE p_sink_health (
    sink                 TEXT PRIMARY KEY,
    last_success_at      TEXT,
    last_error           TEXT,
    last_error_at        TEXT,
    consecutive_failures INTEGER NOT NULL
  );
  CREATE TABLE p_checkpoints (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
  );
  `,
  // 2: one call's story (issue 14). Each delivery's call and why it is dead, and which entries
  // are about which call and event, filled from the log as the projector would have (see
  // project/apply-entry.ts): a plan without call_id takes its event's; an entry about a
  // delivery counts from its plan on. Indexed for the filters the console pages through.
  `
  ALTER TABLE p_deliveries ADD COLUMN call_id TEXT;
  ALTER TABLE p_deliveries ADD COLUMN dead_reason TEXT;
  -- one row per entry about a call: its events, and every entry about their deliveries
  CREATE TABLE p_call_entries (
    seq       INTEGER PRIMARY KEY,
    call_id   TEXT NOT NULL,
    event_seq INTEGER NOT NULL
  );
  INSERT INTO p_call_entries (seq, call_id, event_seq)
    SELECT seq, data ->> '$.call_id', seq FROM entries
    WHERE type = 'event.received' AND data ->> '$.call_id' IS NOT NULL;
  UPDATE p_deliveries SET call_id = coalesce(
    (SELECT data ->> '$.call_id' FROM entries WHERE entries.seq = p_deliveries.seq),
    (SELECT c.call_id FROM p_call_entries c WHERE c.seq = p_deliveries.event_seq AND c.event_seq = c.seq));
  INSERT INTO p_call_entries (seq, call_id, event_seq)
    SELECT e.seq, d.call_id, d.event_seq FROM entries e JOIN p_deliveries d ON d.delivery_id = e.data ->> '$.delivery_id'
    WHERE e.type IN ('delivery.planned', 'delivery.attempted', 'delivery.dead', 'delivery.retried')
      AND e.seq >= d.seq AND d.call_id IS NOT NULL;
  UPDATE p_deliveries SET dead_reason = last.reason
    FROM (SELECT data ->> '$.delivery_id' AS delivery_id, data ->> '$.reason' AS reason, max(seq) AS seq
          FROM entries WHERE type = 'delivery.dead' GROUP BY 1) AS last
    WHERE p_deliveries.status = 'dead' AND p_deliveries.delivery_id = last.delivery_id;
  -- the seq of p_call_entries is its rowid: each index below is also in log order
  CREATE INDEX p_call_entries_call ON p_call_entries (call_id);
  CREATE INDEX p_call_entries_event ON p_call_entries (event_seq);
  -- deliveries, newest first, by each filter of the deliveries command and the console
  CREATE INDEX p_deliveries_call ON p_deliveries (call_id, seq);
  CREATE INDEX p_deliveries_event ON p_deliveries (event_id, seq);
  CREATE INDEX p_deliveries_rule ON p_deliveries (rule_id, seq);
  CREATE INDEX p_deliveries_sink ON p_deliveries (sink, seq);
  CREATE INDEX p_deliveries_status_seq ON p_deliveries (status, seq);
  `,
  // 3: operator state of each sink (README "Operator events and alert rules"): paused for its credentials, stale work
  `
  CREATE TABLE p_sink_state (
    sink            TEXT PRIMARY KEY,
    paused_at       TEXT,
    paused_reason   TEXT,
    paused_code     TEXT,
    stale_at        TEXT,
    stale_oldest_at TEXT
  );
  `,
  // 4: personal data (README "Personal data"). Each entry's link in the hash chain and its
  // payload's keyed digest; payloads apart, encrypted under their call's data key, which is
  // wrapped by the master key. Erasing a call deletes its payload rows and its key. Not
  // projections: the engine keeps them with the entries (log/sqlite/sealed.ts); entries
  // logged before this version are sealed and chained once, on the first open that has the
  // master key (log/sqlite/seal-legacy.ts).
  `
  ALTER TABLE entries ADD COLUMN hash TEXT;
  ALTER TABLE entries ADD COLUMN digest TEXT;
  CREATE TABLE payloads (
    seq     INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    sealed  BLOB NOT NULL
  );
  CREATE INDEX payloads_call ON payloads (call_id);
  CREATE TABLE call_keys (
    call_id TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL
  );
  CREATE TABLE erased_calls (
    call_id TEXT PRIMARY KEY,
    seq     INTEGER NOT NULL
  );
  `,
  // 5: when an open delivery was last re-driven (README "Stale work"): it waits since then, so a
  // dead letter re-driven long after it was planned is not stale at once. Filled from the log
  // as the projector would have; indexed by what it waits since, per sink, as the stale watch asks.
  `
  ALTER TABLE p_deliveries ADD COLUMN redriven_at TEXT;
  UPDATE p_deliveries SET redriven_at = (SELECT max(at) FROM entries
    WHERE type = 'delivery.retried' AND data ->> '$.delivery_id' = p_deliveries.delivery_id);
  CREATE INDEX p_deliveries_open_since ON p_deliveries (sink, coalesce(redriven_at, planned_at)) WHERE status IN ('pending', 'retrying');
  -- and over every sink (status, /metrics' oldest-pending gauge): a seek, not a read of every open delivery
  CREATE INDEX p_deliveries_open_since_all ON p_deliveries (coalesce(redriven_at, planned_at)) WHERE status IN ('pending', 'retrying');
  `,
  // 6: a Slack channel's key scope as the projector now stores it (storableKey: sha256 past 256
  // characters, U+0000 and unpaired surrogates as U+FFFD); stored as rendered before, a thread of
  // such a channel started afresh after the upgrade and replay --verify found the rows differ
  `
  UPDATE p_deliveries SET key_scope = hr_storable_key(CAST(key_scope AS BLOB)) WHERE key_scope <> hr_storable_key(CAST(key_scope AS BLOB));
  -- a key that also has a state under its new scope (written since) keeps that one, the later
  UPDATE OR IGNORE p_key_state SET key_scope = hr_storable_key(CAST(key_scope AS BLOB)) WHERE key_scope <> hr_storable_key(CAST(key_scope AS BLOB));
  DELETE FROM p_key_state WHERE key_scope <> hr_storable_key(CAST(key_scope AS BLOB));
  `,
  // 7: a dead letter's and a pause's reason as the projector now stores them (storableText); kept
  // with U+0000 (or three U+FFFD for a lone surrogate) before, replay --verify of an upgraded log
  // said the rows differ from a rebuild
  `
  UPDATE p_deliveries SET dead_reason = hr_storable(CAST(dead_reason AS BLOB)) WHERE dead_reason IS NOT NULL;
  UPDATE p_sink_state SET paused_reason = hr_storable(CAST(paused_reason AS BLOB)) WHERE paused_reason IS NOT NULL;
  `,
  // 8: where the log starts once retention removed its oldest entries (README "Retention"), and
  // the hash the chain goes on from; only entries before it can be deleted, and it only moves on
  `
  CREATE TABLE log_start (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    prev_hash TEXT NOT NULL
  );
  DROP TRIGGER entries_no_delete;
  CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    WHEN OLD.seq >= coalesce((SELECT seq FROM log_start), 1)
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;
  CREATE TRIGGER log_start_forward BEFORE UPDATE ON log_start WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'the log start only moves forward'); END;
  -- the calls whose events all came before the start, which a truncation forgets
  CREATE INDEX p_calls_last_event ON p_calls (last_event_seq);
  `,
];

/**
 * `storableText` of text as SQLite holds it: better-sqlite3 writes an unpaired surrogate as its
 * three bytes (ED A0-BF 80-BF), which read back as three U+FFFD, so the bytes are read instead.
 */
function storableStored(bytes: Buffer): string {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) out.push(0xef, 0xbf, 0xbd);
    else if (b === 0xed && i + 2 < bytes.length && bytes[i + 1]! >= 0xa0 && bytes[i + 1]! <= 0xbf) {
      out.push(0xef, 0xbf, 0xbd);
      i += 2;
    } else out.push(b);
  }
  return Buffer.from(out).toString('utf8');
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to `target` (default: this version's schema), one migration per
 * transaction. Throws `EnvironmentError` for a database newer than this husky-relay reads.
 * (`target` below the latest: tests that make a database as an older husky-relay left it.)
 */
export function migrate(db: Database, target = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new EnvironmentError(
      `${db.name} was written by a newer husky-relay (schema version ${current}; this one reads up to ${SCHEMA_VERSION}): ` +
        'upgrade husky-relay, or restore the backup taken before the upgrade',
      'database_newer',
    );
  }
  db.function('hr_storable', { deterministic: true }, (bytes) => storableStored(bytes as Buffer));
  db.function('hr_storable_key', { deterministic: true }, (bytes) => storableKey(storableStored(bytes as Buffer)));
  for (let version = current; version < target; version++) {
    db.transaction(() => {
      // another process (serve and a CLI started together) may have migrated meanwhile
      if ((db.pragma('user_version', { simple: true }) as number) > version) return;
      db.exec(MIGRATIONS[version]!);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
