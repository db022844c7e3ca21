import type { Database } from 'better-sqlite3';
import { EnvironmentError } from '../../os-errors.js';

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
  // 2: operator state of each sink (SPEC §10): paused for its credentials, stale work
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new EnvironmentError(
      `${db.name} was written by a newer husky-relay (schema version ${current}; this one reads up to ${SCHEMA_VERSION}): ` +
        'upgrade husky-relay, or restore the backup taken before the upgrade',
      'database_newer',
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      // another process (serve and a CLI started together) may have migrated meanwhile
      if ((db.pragma('user_version', { simple: true }) as number) > version) return;
      db.exec(MIGRATIONS[version]!);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
