import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { ApplyEntry } from '../../project/apply-entry.js';
import { projector } from '../../project/sql-store.js';
import { openDatabase, type OpenLogOptions } from './open.js';
import { dedupeKey, type Appended, type Checkpoint, type CommitGroup, type DeliveryOrigin, type EntryOf, type EventFilter, type ReadOptions } from '../seam.js';
import type { Entry, NewEntry } from '../types.js';
import { checkKeyring, EDGE_KEYS_SQL, loadKeyring, wrappedBy, type Keyring } from '../../privacy/keys.js';
import { ENTRY_COLUMNS, ENTRY_FROM, ENTRY_JOINS, FACT_COLUMNS, Sealer, type SealedRow } from './sealed.js';
import { sealLegacy } from './seal-legacy.js';
import { typesQuery } from './read-types.js';

export interface LogOptions extends OpenLogOptions {
  /** The clock that stamps `at`. Tests inject one. */
  now?: () => Date;
  /** `HUSKY_RELAY_MASTER_KEY` as set (README "Personal data"); unset: the `master-key` file beside the database. */
  masterKeys?: string;
  /** The keyring itself (tests); wins over `masterKeys`. */
  keyring?: Keyring;
  /**
   * `serve`: refuse, at open, a keyring that cannot open the log's data keys (`checkKeyring`), so a
   * relay given a new key without the old one never starts taking events it cannot seal. Readers
   * need not: each read names the missing key.
   */
  checkKeys?: boolean;
}

type Row = SealedRow;

/**
 * The log: the only module that writes `entries`. Every append runs in one transaction with
 * the projections of what it appends, and with any checkpoint it advances, so derived state
 * is never ahead of or behind the log.
 */
export class SqliteLog {
  readonly db: Database;
  private readonly now: () => Date;
  private readonly project: ApplyEntry;
  private readonly insert: Statement;
  private readonly setCheckpoint: Statement;
  /** Read statements, prepared once each (the router reads once per batch). */
  private readonly reads = new Map<string, Statement>();
  private readonly appendTx: Transaction<(groups: CommitGroup[]) => Appended[][]>;
  /** Facts and payloads: seals on append, opens on read (README "Personal data"). */
  readonly sealer: Sealer;

  constructor(
    readonly path: string,
    options: LogOptions = {},
  ) {
    this.db = openDatabase(path, options);
    this.now = options.now ?? (() => new Date());
    this.project = projector(this.db);
    const wrappedById = () => {
      const wrapped = this.db.prepare(`SELECT wrapped FROM call_keys LIMIT 1`).pluck().get() as Buffer | undefined;
      return wrapped ? wrappedBy(wrapped) : null;
    };
    this.sealer = new Sealer(this.db, options.keyring ?? loadKeyring(path, options.masterKeys, wrappedById));
    if (options.checkKeys) checkKeyring(this.sealer.ring, this.db.prepare(EDGE_KEYS_SQL).pluck().all() as Buffer[]);
    sealLegacy(this.db, this.sealer);
    this.sealer.rewrapOld();
    this.insert = this.db.prepare(
      `INSERT INTO entries (seq, type, at, data, dedupe_key, hash, digest) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
    );
    this.setCheckpoint = this.db.prepare(
      `INSERT INTO p_checkpoints (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`,
    );
    this.appendTx = this.db.transaction((groups: CommitGroup[]) => {
      const at = this.now().toISOString();
      // seqs are given here, not by SQLite: each entry's hash covers its seq and the one before
      let { seq: last, hash: prev } = this.sealer.chainHead();
      return groups.map(({ entries, checkpoint }) => {
        const results = entries.map((entry): Appended => {
          const seq = last + 1;
          const sealed = this.sealer.prepare(entry, seq, at, prev);
          const info = this.insert.run(seq, entry.type, at, sealed.data, dedupeKey(entry), sealed.hash, sealed.digest);
          if (info.changes === 0) return { seq: null, duplicate: true };
          sealed.store();
          [last, prev] = [seq, sealed.hash];
          this.project({ ...entry, seq, at, hash: sealed.hash } as Entry);
          return { seq, duplicate: false };
        });
        if (checkpoint) this.setCheckpoint.run(checkpoint.name, checkpoint.seq);
        return results;
      });
    });
  }

  /**
   * Appends entries in one transaction (all or none). An `event.received` whose event_id is
   * already in the log, or a `delivery.planned` whose delivery_id is, appends nothing and
   * comes back as a duplicate. Throws if the commit fails; nothing of it remains then.
   */
  append(entries: NewEntry[], checkpoint?: Checkpoint): Appended[] {
    return this.appendTx.immediate([{ entries, checkpoint }])[0]!;
  }

  /** Several appends in one transaction (group commit): all of them, or none. */
  appendBatch(groups: CommitGroup[]): Appended[][] {
    return this.appendTx.immediate(groups);
  }

  checkpoint(name: string): number {
    const row = this.statement(`SELECT seq FROM p_checkpoints WHERE name = ?`).get(name) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  lastSeq(): number {
    const row = this.statement(`SELECT max(seq) AS seq FROM entries`).get() as { seq: number | null };
    return row.seq ?? 0;
  }

  /** The body first logged for an event_id (to tell a true retry from a changed duplicate); `[erased]` once erased. */
  bodyOf(eventId: string): string | null {
    const key = dedupeKey({ type: 'event.received', data: { event_id: eventId } } as NewEntry);
    const row = this.statement(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE e.dedupe_key = ?`).get(key) as Row | undefined;
    return row ? (this.toEntry(row) as Entry & { type: 'event.received' }).data.body : null;
  }

  /** The rendered request of the plan at `seq`, or null once its call was erased. */
  requestOf(seq: number): Record<string, unknown> | null {
    const row = this.statement(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE e.seq = ?`).get(seq) as Row | undefined;
    const entry = row ? (this.toEntry(row) as Entry & { type: 'delivery.planned' }) : undefined;
    return entry && entry.data.request['erased'] !== true ? entry.data.request : null;
  }

  /** The newest entry of a type, if any. */
  lastOfType(type: string): Entry | undefined {
    const row = this.statement(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE e.type = ? ORDER BY e.seq DESC LIMIT 1`).get(type) as Row | undefined;
    return row ? this.toEntry(row) : undefined;
  }

  /**
   * Entries after `afterSeq`, in order, filtered as `ReadOptions` says. A call or event filter
   * reads through the projection `p_call_entries` (which entries are about which call and
   * event), by its index: a page costs the same on a log of any size.
   */
  read(afterSeq: number, options: ReadOptions = {}): Entry[] {
    const about = options.callId !== undefined || options.eventId !== undefined;
    const types = options.types ?? [];
    // several exact types: one index read per type, merged (see readTypes)
    if (!about && types.length > 1 && !types.some((t) => /[*?[]/.test(t))) return this.readTypes(afterSeq, types, options);
    // with a call or event, the index of p_call_entries gives the order: its seq is the entry's
    const seq = about ? 'r.seq' : 'e.seq';
    const where = [`${seq} > ?`];
    const params: unknown[] = [afterSeq];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (options.types?.length) {
      // `=` when there is no wildcard: GLOB would make SQLite sort every entry of the type
      add(`(${options.types.map((t) => (/[*?[]/.test(t) ? 'e.type GLOB ?' : 'e.type = ?')).join(' OR ')})`, ...options.types);
    }
    if (options.since) add('e.at >= ?', options.since);
    if (options.until) add('e.at < ?', options.until);
    if (options.callId !== undefined) add('r.call_id = ?', options.callId);
    if (options.eventId !== undefined) {
      const key = dedupeKey({ type: 'event.received', data: { event_id: options.eventId } } as NewEntry);
      add('r.event_seq = (SELECT seq FROM entries WHERE dedupe_key = ?)', key);
    }
    params.push(options.limit ?? -1);
    const [columns, joins, toEntry] = this.shape(options);
    const from = about ? `p_call_entries r JOIN entries e ON e.seq = r.seq ${joins}` : `entries e ${joins}`;
    return (this.statement(`SELECT ${columns} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${seq} LIMIT ?`).all(...params) as Row[]).map(toEntry);
  }

  /** What a read selects and joins, and how a row becomes an entry: with its payload opened, or its facts alone (`ReadOptions.facts`). */
  private shape({ facts, hashes }: ReadOptions): [string, string, (row: Row) => Entry] {
    return facts ? [FACT_COLUMNS, '', (row) => this.sealer.sealing.factsOf(row, hashes)] : [ENTRY_COLUMNS, ENTRY_JOINS, (row) => this.sealer.entryOf(row, hashes)];
  }

  /** `read` of several exact types (the router's, the due index's): see `typesQuery`. */
  private readTypes(afterSeq: number, types: string[], options: ReadOptions): Entry[] {
    const [columns, joins, toEntry] = this.shape(options);
    const { sql, params } = typesQuery({ afterSeq, types, options, columns, joins, ahead: this.lastSeq() - afterSeq });
    return (this.statement(sql).all(...params) as Row[]).map(toEntry);
  }

  /** `LogReader.events`: the `event.received` entries `replay` plans from. */
  events(f: EventFilter): EntryOf<'event.received'>[] {
    const where = [`e.type = 'event.received'`, 'e.seq > ?', 'e.seq <= ?'];
    const params: unknown[] = [f.afterSeq, f.throughSeq];
    const add = (clause: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('e.at >= ?', f.since);
    add('e.at < ?', f.until);
    add(`e.data ->> '$.event_type' GLOB ?`, f.eventType);
    params.push(f.limit);
    const rows = this.statement(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE ${where.join(' AND ')} ORDER BY e.seq LIMIT ?`).all(...params) as Row[];
    return rows.map((row) => this.toEntry(row)) as EntryOf<'event.received'>[];
  }

  /** `LogReader.plannedAlready`: which of these delivery ids have their `delivery.planned`. */
  plannedAlready(deliveryIds: readonly string[]): Set<string> {
    const found = new Set<string>();
    const one = this.statement(`SELECT 1 FROM entries WHERE dedupe_key = ?`);
    for (const id of deliveryIds) if (one.get(dedupeKey({ type: 'delivery.planned', data: { delivery_id: id } } as NewEntry))) found.add(id);
    return found;
  }

  /**
   * `LogReader.deliveryOrigins`: each plan by its dedupe key, joined to the entry it was planned
   * from. A plan whose data is not JSON (a damaged entry) has no origin, and a damaged event
   * gives no call: the router then routes its dead letter without them. SQLite's `->>` on such
   * data fails the whole statement, so every JSON read here is guarded (`CASE`, which SQLite
   * evaluates lazily, unlike the terms of an AND).
   */
  deliveryOrigins(deliveryIds: readonly string[]): Map<string, DeliveryOrigin> {
    const one = this.statement(
      `SELECT p.data ->> '$.delivery_id', p.data ->> '$.rule_id', p.data ->> '$.sink', p.data ->> '$.event_id', p.data ->> '$.event_type',
         coalesce(p.data ->> '$.call_id', CASE WHEN e.type = 'event.received' AND json_valid(e.data) THEN e.data ->> '$.call_id' END), e.type
       FROM (SELECT CASE WHEN json_valid(data) THEN data ELSE '{}' END AS data FROM entries WHERE dedupe_key = ?) p
       LEFT JOIN entries e ON e.seq = p.data ->> '$.event_seq'
       WHERE p.data ->> '$.delivery_id' IS NOT NULL`,
    ).raw();
    const found = new Map<string, DeliveryOrigin>();
    for (const id of new Set(deliveryIds)) {
      const row = one.get(dedupeKey({ type: 'delivery.planned', data: { delivery_id: id } } as NewEntry)) as (string | null)[] | undefined;
      if (!row) continue;
      const [delivery_id, rule_id, sink, event_id, event_type, call_id, from] = row as [string, string, string, string, string, string | null, string | null];
      found.set(id, { delivery_id, rule_id, sink, event_id, event_type, call_id, from_operator: from !== null && from !== 'event.received' });
    }
    return found;
  }

  /** `LogReader.lastAboutSink`: by the (type, seq) index, newest first. */
  lastAboutSink(type: string, sink: string, beforeSeq: number): Entry | undefined {
    // an earlier entry of the type whose data is not JSON is passed over: `->>` on it would fail the statement
    const sql = `SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE e.type = ? AND e.seq < ? AND CASE WHEN json_valid(e.data) THEN e.data ->> '$.sink' END = ? ORDER BY e.seq DESC LIMIT 1`;
    const row = this.statement(sql).get(type, beforeSeq, sink) as Row | undefined;
    return row ? this.toEntry(row) : undefined;
  }

  private toEntry(row: Row): Entry {
    return this.sealer.entryOf(row);
  }

  /** A read statement, prepared once. */
  statement(sql: string): Statement {
    let statement = this.reads.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.reads.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}


