import { entryData } from '../damaged-entry.js';
import type { Database } from 'better-sqlite3';
import type { NewEntry } from '../types.js';
import type { Sealer } from './sealed.js';

/** Entries sealed per statement batch while upgrading. */
const BATCH = 1000;

/**
 * The hash story of a log written before schema version 4 (README "Personal data"): on the first
 * open that has the master key, every entry without a hash is split once into facts and an
 * encrypted payload and chained, from seq 1, in one transaction; the append-only trigger is
 * lifted for that transaction only. The chain thus covers the whole log, old entries included,
 * from the moment of the upgrade: what the entries said before it cannot be vouched for by it.
 * `secure_delete` overwrites the plaintext bodies the rows held; the WAL is truncated after.
 * A log whose last entry has a hash or a digest is left alone (one look-up of that entry).
 */
export function sealLegacy(db: Database, sealer: Sealer): void {
  // Only a run of unhashed, never-sealed (no digest) entries at the end is a legacy log (or
  // entries an older build added since); an unhashed entry followed by a hashed one, or one
  // with a digest, had its hash removed: left for `log --verify` to name ("it has no hash"),
  // never sealed anew (which would hide the change).
  // The last entry first: when it has a hash or a digest (every log after its upgrade), no
  // unhashed entry can end the log, and MIN(seq) ... WHERE hash IS NULL would read every entry.
  const lastUnsealed = db.prepare(`SELECT hash IS NULL AND digest IS NULL FROM entries ORDER BY seq DESC LIMIT 1`).pluck();
  const firstUnhashed = db.prepare(`SELECT MIN(seq) FROM entries WHERE hash IS NULL`).pluck();
  const hashedAfter = db.prepare(`SELECT 1 FROM entries WHERE seq >= ? AND (hash IS NOT NULL OR digest IS NOT NULL) LIMIT 1`).pluck();
  const pending = { get: (): number | undefined => {
    if (lastUnsealed.get() !== 1) return undefined; // an empty log, or one whose end is sealed
    const first = firstUnhashed.get() as number | null;
    return first === null || hashedAfter.get(first) !== undefined ? undefined : first;
  } };
  if (pending.get() === undefined) return;
  db.transaction(() => {
    if (pending.get() === undefined) return; // another process sealed it meanwhile
    const trigger = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'entries_no_update'`).pluck().get() as string | undefined;
    db.exec(`DROP TRIGGER IF EXISTS entries_no_update`);
    const rows = db.prepare(`SELECT seq, type, at, data FROM entries WHERE hash IS NULL AND seq > ? ORDER BY seq LIMIT ${BATCH}`);
    const from = pending.get()! - 1;
    const before = db.prepare(`SELECT hash FROM entries WHERE seq = ?`).pluck();
    const update = db.prepare(`UPDATE entries SET data = ?, hash = ?, digest = ? WHERE seq = ?`);
    let after = from;
    for (;;) {
      const batch = rows.all(after) as { seq: number; type: string; at: string; data: string }[];
      if (batch.length === 0) break;
      let prev = (before.get(batch[0]!.seq - 1) as string | null | undefined) ?? sealer.genesis;
      for (const row of batch) {
        const entry = { type: row.type, data: entryData(row) } as NewEntry;
        const sealed = sealer.prepare(entry, row.seq, row.at, prev);
        update.run(sealed.data, sealed.hash, sealed.digest, row.seq);
        sealed.store();
        prev = sealed.hash;
        after = row.seq;
      }
    }
    if (trigger) db.exec(trigger);
  }).immediate();
  db.pragma('wal_checkpoint(TRUNCATE)');
}
