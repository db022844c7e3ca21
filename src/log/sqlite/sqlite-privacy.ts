import type { Database } from 'better-sqlite3';
import { codeOf } from '../../os-errors.js';
import { namingDamagedEntries } from './damage.js';
import { OPEN_SQL } from '../../delivery/lifecycle.js';
import { verifyChain, type ChainLink, type ChainVerdict } from '../../privacy/chain.js';
import { addCallMentioning, contactKeyOf } from '../../privacy/contact.js';
import { erasureEntries } from '../../privacy/erasure-entries.js';
import type { ErasableCall, ErasedCall, EraseRequest, EraseResult, PrivacyLog } from '../seam.js';
import type { Entry } from '../types.js';
import { ENTRY_COLUMNS, ENTRY_FROM, type SealedRow } from './sealed.js';
import type { SqliteLog } from './sqlite-log.js';
import { sqliteTx, truncateSqlite } from './sqlite-truncate.js';
import { logStartIn } from '../truncate.js';
import { truncateWal } from './checkpoints.js';
import type { Truncation } from '../../privacy/truncation.js';
import { writeWhenFree } from './write-wait.js';

/**
 * `PrivacyLog` on SQLite (README "Personal data"). Erasure deletes payload rows and the call's
 * wrapped data key with `secure_delete` on (their pages are overwritten with zeros), then
 * checkpoints and truncates the WAL, so neither file keeps a byte of them.
 */
export class SqlitePrivacy implements PrivacyLog {
  private readonly db: Database;

  /** `interrupt`: a command's Ctrl-C, which ends erase's wait for another process's write lock (`OpenStoreOptions.interrupt`). */
  constructor(
    private readonly log: SqliteLog,
    private readonly interrupt?: AbortSignal,
  ) {
    this.db = log.db;
  }

  async callsOfContact(contact: string): Promise<string[]> {
    const key = contactKeyOf(contact);
    const found = new Set<string>();
    const rows = this.db.prepare(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} WHERE e.type = 'event.received' AND p.seq IS NOT NULL ORDER BY e.seq`);
    for (const row of rows.iterate() as IterableIterator<SealedRow>) {
      const entry = this.log.sealer.entryOf(row) as Entry & { type: 'event.received' };
      addCallMentioning(found, entry, key);
    }
    return [...found];
  }

  async erasable(callIds: readonly string[]): Promise<ErasableCall[]> {
    // an event's own row has event_seq = seq; so has the call's call.erased, which is not an event
    const events = this.db
      .prepare(`SELECT count(*) FROM p_call_entries r WHERE call_id = ? AND seq = event_seq AND seq IS NOT (SELECT x.seq FROM erased_calls x WHERE x.call_id = r.call_id)`)
      .pluck();
    const payloads = this.db.prepare(`SELECT count(*) FROM payloads WHERE call_id = ?`).pluck();
    const erased = this.db.prepare(`SELECT 1 FROM erased_calls WHERE call_id = ?`).pluck();
    return [...new Set(callIds)]
      .map((call_id) => ({ call_id, events: events.get(call_id) as number, payloads: payloads.get(call_id) as number, erased: erased.get(call_id) === 1 }))
      .filter((c) => c.events > 0 || c.erased);
  }

  async erase(request: EraseRequest): Promise<EraseResult> {
    const ids = [...new Set(request.callIds)];
    // `also` may read the log (the downstream plans): read before the write transaction starts
    const isErased = this.db.prepare(`SELECT 1 FROM erased_calls WHERE call_id = ?`).pluck();
    const fresh = ids.filter((id) => isErased.get(id) === undefined);
    const also = request.also ? await request.also(fresh) : [];
    const open = this.db.prepare(`SELECT delivery_id FROM p_deliveries WHERE call_id = ? AND status IN ${OPEN_SQL} ORDER BY seq`).pluck();
    const dropPayloads = this.db.prepare(`DELETE FROM payloads WHERE call_id = ?`);
    const dropKey = this.db.prepare(`DELETE FROM call_keys WHERE call_id = ?`);
    const mark = this.db.prepare(`INSERT INTO erased_calls (call_id, seq) VALUES (?, ?)`);
    const erasure = this.db.transaction((): ErasedCall[] => {
      const done: ErasedCall[] = [];
      for (const call_id of ids) {
        if (isErased.get(call_id)) {
          done.push({ call_id, payloads: 0, closed: 0, seq: null });
          continue;
        }
        const payloads = dropPayloads.run(call_id).changes;
        dropKey.run(call_id);
        const dying = open.all(call_id) as string[];
        const seq = this.log.append(erasureEntries(call_id, request, dying))[0]!.seq!;
        mark.run(call_id, seq);
        done.push({ call_id, payloads, closed: dying.length, seq });
      }
      if (also.length > 0) this.log.append(also);
      return done;
    });
    const calls = await writeWhenFree(this.db, this.interrupt, () => erasure.immediate());
    // serve's checkpoint thread may be copying the WAL this very moment: wait for it, briefly
    const walTruncated = await truncateWal(this.db);
    return { calls, walTruncated, leftover: walTruncated ? null : 'a reader held the WAL; the erased pages leave it at the next checkpoint' };
  }

  async callsLastSeenBefore(before: string, limit: number): Promise<string[]> {
    return this.db
      .prepare(
        `SELECT c.call_id FROM p_calls c JOIN entries e ON e.seq = c.last_event_seq
         WHERE e.at < ? AND NOT EXISTS (SELECT 1 FROM erased_calls x WHERE x.call_id = c.call_id) ORDER BY c.last_event_seq LIMIT ?`,
      )
      .pluck()
      .all(before, limit) as string[];
  }

  async verifyChain(): Promise<ChainVerdict> {
    const rows = this.db.prepare(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRY_FROM} ORDER BY e.seq`).iterate() as IterableIterator<SealedRow>;
    const sealer = this.log.sealer;
    // Erased as the chain itself says (call.erased entries), not as a side table says.
    // a damaged one (not JSON) is left to `linkOf`, which names it
    const erased = new Set(this.db.prepare(`SELECT json_extract(data, '$.call_id') FROM entries WHERE type = 'call.erased' AND json_valid(data)`).pluck().all());
    function* links(): Generator<ChainLink & { hash: string | null }> {
      for (const row of rows) yield sealer.sealing.linkOf(row, erased);
    }
    return verifyChain(links(), await logStartIn(sqliteTx(this.db)));
  }

  async verifyPages(): Promise<string[]> {
    let found: { integrity_check: string }[];
    try {
      found = this.db.pragma('integrity_check(entries)', { simple: false }) as { integrity_check: string }[];
    } catch (error) {
      // a page so damaged that the check itself stops on it
      if (!codeOf(error)?.startsWith('SQLITE_CORRUPT')) throw error;
      return [`the table entries or one of its indexes: ${(error as Error).message}`];
    }
    // a row that fails the CHECK on `data` (not JSON) is a damaged entry: the chain check names it by seq
    return found.map((r) => r.integrity_check).filter((m) => m !== 'ok' && !/^CHECK constraint failed in entries$/.test(m));
  }

  truncate(now: Date, windowMs: number): Promise<Truncation | null> {
    // its SQL reads entries' data (`call.erased`'s call_id…): one that is not JSON is named by seq
    return truncateSqlite(this.log, now, windowMs).catch((error: unknown) => {
      throw namingDamagedEntries(error, this.db);
    });
  }

  async chainHead(): Promise<string | null> {
    return (this.db.prepare(`SELECT hash FROM entries ORDER BY seq DESC LIMIT 1`).pluck().get() as string | null | undefined) ?? null;
  }
}
