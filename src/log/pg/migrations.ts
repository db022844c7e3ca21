import type { PoolClient } from 'pg';
import { EnvironmentError } from '../../os-errors.js';

/**
 * The PostgreSQL schema, as migrations applied in order; `hr_schema.version` is the version
 * reached (the SQLite engine keeps the same idea in `PRAGMA user_version`). The tables are the
 * SQLite ones (log/sqlite/migrations.ts) in PostgreSQL types: `entries` is the log, append-only
 * (triggers refuse UPDATE, DELETE and TRUNCATE), global order `seq`; `p_*` are projections.
 *
 * `data` is `json`, not `jsonb`: it keeps the text as appended, key order included, so `log
 * --json` prints the same bytes on both engines.
 *
 * Personal data (README "Personal data", migration 2): as on SQLite, `entries.data` keeps an
 * entry's facts, `payloads` its payload sealed under its call's data key (`call_keys`, wrapped
 * by the master key); erasure deletes rows of `payloads` and `call_keys`, never of `entries`.
 * Retention's truncation (migration 5) deletes the entries before `log_start` only.
 */
const MIGRATIONS: string[] = [
  // 1: the log, its projections, and the leases several `serve` processes share
  `
  CREATE TABLE entries (
    seq        bigint PRIMARY KEY,
    type       text NOT NULL,
    at         text NOT NULL,
    data       json NOT NULL,
    -- 'event:<event_id>' or 'delivery:<delivery_id>': appended once, forever
    dedupe_key text UNIQUE
  );
  CREATE INDEX entries_type_seq ON entries (type, seq);
  CREATE FUNCTION hr_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the log is append-only: entries cannot be %',
      CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
  END $$;
  CREATE TRIGGER entries_no_change BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION hr_append_only();
  CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries FOR EACH STATEMENT EXECUTE FUNCTION hr_append_only();

  CREATE TABLE p_events_by_type (event_type text PRIMARY KEY, n bigint NOT NULL);
  CREATE TABLE p_calls (
    call_id text PRIMARY KEY, org_id text, last_event_type text NOT NULL, last_event_seq bigint NOT NULL, events bigint NOT NULL
  );
  CREATE TABLE p_deliveries (
    delivery_id     text PRIMARY KEY,
    seq             bigint NOT NULL UNIQUE,
    event_id        text NOT NULL,
    event_seq       bigint NOT NULL,
    event_type      text NOT NULL,
    rule_id         text NOT NULL,
    action_index    integer NOT NULL,
    sink            text NOT NULL,
    order_key       text,
    key_scope       text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL,
    round_failures  integer NOT NULL,
    last_error      text,
    next_attempt_at text,
    planned_at      text NOT NULL,
    result          text,
    call_id         text,
    dead_reason     text
  );
  CREATE INDEX p_deliveries_open ON p_deliveries (sink, seq) WHERE status IN ('pending', 'retrying');
  CREATE INDEX p_deliveries_key ON p_deliveries (sink, order_key, seq) WHERE order_key IS NOT NULL;
  CREATE INDEX p_deliveries_call ON p_deliveries (call_id, seq);
  CREATE INDEX p_deliveries_event ON p_deliveries (event_id, seq);
  CREATE INDEX p_deliveries_rule ON p_deliveries (rule_id, seq);
  CREATE INDEX p_deliveries_sink ON p_deliveries (sink, seq);
  CREATE INDEX p_deliveries_status_seq ON p_deliveries (status, seq);
  CREATE TABLE p_key_state (
    sink text NOT NULL, order_key text NOT NULL, key_scope text NOT NULL, result text NOT NULL,
    PRIMARY KEY (sink, order_key, key_scope)
  );
  CREATE TABLE p_sink_health (
    sink text PRIMARY KEY, last_success_at text, last_error text, last_error_at text, consecutive_failures integer NOT NULL
  );
  CREATE TABLE p_checkpoints (name text PRIMARY KEY, seq bigint NOT NULL);
  CREATE TABLE p_call_entries (seq bigint PRIMARY KEY, call_id text NOT NULL, event_seq bigint NOT NULL);
  CREATE INDEX p_call_entries_call ON p_call_entries (call_id, seq);
  CREATE INDEX p_call_entries_event ON p_call_entries (event_seq, seq);
  CREATE TABLE p_sink_state (
    sink text PRIMARY KEY, paused_at text, paused_reason text, paused_code text, stale_at text, stale_oldest_at text
  );
  -- not derived from the log: who works on what now (router, deliveries), until when
  CREATE TABLE hr_leases (
    name   text PRIMARY KEY,
    holder text NOT NULL,
    until  timestamptz NOT NULL
  );
  `,
  // 2: personal data (README "Personal data"): each entry's link in the hash chain and its
  // payload's keyed digest; payloads apart, encrypted under their call's data key, wrapped by
  // the master key (log/pg/pg-sealed.ts). Entries logged before this version are sealed and
  // chained once, on the first open (log/pg/pg-seal-legacy.ts).
  `
  ALTER TABLE entries ADD COLUMN hash text;
  ALTER TABLE entries ADD COLUMN digest text;
  -- the entries still to seal (a log from before this version): each open looks here, an empty index once sealed
  CREATE INDEX entries_unhashed ON entries (seq) WHERE hash IS NULL;
  CREATE TABLE payloads (seq bigint PRIMARY KEY, call_id text NOT NULL, sealed bytea NOT NULL);
  CREATE INDEX payloads_call ON payloads (call_id);
  CREATE TABLE call_keys (call_id text PRIMARY KEY, wrapped bytea NOT NULL);
  CREATE TABLE erased_calls (call_id text PRIMARY KEY, seq bigint NOT NULL);
  `,
  // 3: when an open delivery was last re-driven, as on SQLite (its migration 5, README "Stale work")
  `
  ALTER TABLE p_deliveries ADD COLUMN redriven_at text;
  UPDATE p_deliveries d SET redriven_at = r.at
    FROM (SELECT data ->> 'delivery_id' AS delivery_id, max(at) AS at FROM entries WHERE type = 'delivery.retried' GROUP BY 1) r
    WHERE r.delivery_id = d.delivery_id;
  CREATE INDEX p_deliveries_open_since ON p_deliveries (sink, coalesce(redriven_at, planned_at)) WHERE status IN ('pending', 'retrying');
  CREATE INDEX p_deliveries_open_since_all ON p_deliveries (coalesce(redriven_at, planned_at)) WHERE status IN ('pending', 'retrying');
  `,
  // 4: a Slack channel's key scope as the projector now stores it (storableKey: past 256 UTF-16
  // units, sha256: and the hex digest of its UTF-8); the channels up to the index's ~2,700 bytes
  // were stored as rendered, so such a thread started afresh after the upgrade
  `
  CREATE FUNCTION pg_temp.hr_storable_key(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN char_length(t) * 2 - char_length(regexp_replace(t, '[\\U00010000-\\U0010FFFF]', '', 'g')) > 256
      THEN 'sha256:' || encode(sha256(convert_to(t, 'UTF8')), 'hex') ELSE t END $$;
  UPDATE p_deliveries SET key_scope = pg_temp.hr_storable_key(key_scope) WHERE key_scope <> pg_temp.hr_storable_key(key_scope);
  -- a key that also has a state under its new scope (written since) keeps that one, the later
  DELETE FROM p_key_state k WHERE key_scope <> pg_temp.hr_storable_key(key_scope) AND EXISTS (SELECT 1 FROM p_key_state n
    WHERE n.sink = k.sink AND n.order_key = k.order_key AND n.key_scope = pg_temp.hr_storable_key(k.key_scope));
  UPDATE p_key_state SET key_scope = pg_temp.hr_storable_key(key_scope) WHERE key_scope <> pg_temp.hr_storable_key(key_scope);
  `,
  // 5: where the log starts once retention removed its oldest entries (README "Retention"), as on
  // SQLite (its migration 8): only entries before it can be deleted, and it only moves on
  `
  CREATE TABLE log_start (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, prev_hash text NOT NULL);
  CREATE OR REPLACE FUNCTION hr_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq < coalesce((SELECT seq FROM log_start), 1) THEN RETURN OLD; END IF;
    RAISE EXCEPTION 'the log is append-only: entries cannot be %',
      CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
  END $$;
  CREATE FUNCTION hr_log_start_forward() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.seq < OLD.seq THEN RAISE EXCEPTION 'the log start only moves forward'; END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER log_start_forward BEFORE UPDATE ON log_start FOR EACH ROW EXECUTE FUNCTION hr_log_start_forward();
  CREATE INDEX p_calls_last_event ON p_calls (last_event_seq);
  `,
];

export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** The projection tables (`p_*`), which a rebuild replaces and a verify compares. */
export const PG_PROJECTION_TABLES = ['p_call_entries', 'p_calls', 'p_deliveries', 'p_events_by_type', 'p_key_state', 'p_sink_health', 'p_sink_state'];

/** A lock key of `pg_advisory_xact_lock` that migrations take, so two processes starting together migrate once. */
const MIGRATE_LOCK = 0x486b526d;

/**
 * Brings the database to `target` (default: this version's schema), one migration per
 * transaction, under an advisory lock (`target` below the latest: tests that make a database as
 * an older husky-relay left it). Throws `EnvironmentError` for a database newer than this husky-relay reads,
 * and for one holding tables that are not a husky-relay log.
 */
export async function migratePg(client: PoolClient, where: string, target = PG_SCHEMA_VERSION): Promise<void> {
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      const version = await versionOf(client, where);
      if (version > PG_SCHEMA_VERSION) {
        throw new EnvironmentError(
          `${where} was written by a newer husky-relay (schema version ${version}; this one reads up to ${PG_SCHEMA_VERSION}): upgrade husky-relay`,
          'database_newer',
        );
      }
      if (version >= target) {
        await client.query('COMMIT');
        return;
      }
      await client.query(MIGRATIONS[version]!);
      await client.query('INSERT INTO hr_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM hr_schema)');
      await client.query('UPDATE hr_schema SET version = $1', [version + 1]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw schemaError(error, where);
    }
  }
}

/**
 * A failure to read or build the schema as one line naming the database: 42501 (the role may
 * not create tables: PostgreSQL 15 grants CREATE on `public` to the database's owner only) and
 * the rest of class 42 (a table of ours already there, or of another shape: `hr_schema`
 * without `version`, `p_calls` of another program) become `EnvironmentError` (exit 1).
 */
function schemaError(error: unknown, where: string): unknown {
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  if (code === '42501') {
    return new EnvironmentError(`cannot create the log's tables in ${where}: ${message}; make the role the database's owner (CREATE DATABASE … OWNER …)`, 'pg_privilege');
  }
  if (code.startsWith('42')) {
    return new EnvironmentError(`${where} is not a husky-relay log (or its tables were changed by hand): ${message}; point --db at another database`, 'not_a_log');
  }
  return error;
}

/** The schema version of the database (0: empty), creating the version table when there is none. */
async function versionOf(client: PoolClient, where: string): Promise<number> {
  const tables = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('hr_schema', 'entries')`,
  );
  const names = new Set(tables.rows.map((r) => r.name));
  if (!names.has('hr_schema')) {
    if (names.has('entries')) {
      throw new EnvironmentError(`${where} has an entries table but is not a husky-relay log; point --db at another database`, 'not_a_log');
    }
    await client.query('CREATE TABLE hr_schema (version integer NOT NULL)');
    return 0;
  }
  const row = await client.query<{ version: number }>('SELECT version FROM hr_schema');
  return row.rows[0]?.version ?? 0;
}
