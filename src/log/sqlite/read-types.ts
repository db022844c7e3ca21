import type { ReadOptions } from '../seam.js';

/**
 * How many entries after `afterSeq` a read of several exact types may scan one by one. Up to
 * this, one scan of the new entries in `seq` order (the primary key) is about ten times
 * cheaper than one index read per type (18 against 184 µs for a tail of 5 entries); past it,
 * entries of other types may outnumber the wanted ones by far, and the index reads win.
 */
export const TAIL_SCAN_ENTRIES = 5_000;

/** What `typesQuery` needs: the read, and the columns and joins of its shape (payloads or facts alone). */
export interface TypesQuery {
  afterSeq: number;
  types: readonly string[];
  options: Pick<ReadOptions, 'since' | 'until' | 'limit'>;
  columns: string;
  joins: string;
  /** How many entries the log holds after `afterSeq` (its last seq less `afterSeq`). */
  ahead: number;
}

/**
 * The SQL and parameters of `read` of several exact types (the router's and the due index's
 * looks, after each commit), in `seq` order, at most `options.limit`:
 * - a short tail (`ahead` up to `TAIL_SCAN_ENTRIES`): the entries after `afterSeq` by the
 *   primary key, each row's type tested (`+e.type`: never by the type index);
 * - a long range: each type's first `limit` entries by the (type, seq) index, merged. The first
 *   `limit` of all are among them, so a batch reads at most `limit` entries a type however many
 *   entries of other types lie between, where one `type IN (…)` query collected and sorted
 *   every match first.
 */
export function typesQuery(q: TypesQuery): { sql: string; params: unknown[] } {
  const { since, until } = q.options;
  const limit = q.options.limit ?? -1;
  const bounds = [...(since ? [since] : []), ...(until ? [until] : [])];
  const at = (alias: string) => [...(since ? [`${alias}at >= ?`] : []), ...(until ? [`${alias}at < ?`] : [])];
  if (q.ahead <= TAIL_SCAN_ENTRIES) {
    const where = ['e.seq > ?', `+e.type IN (${q.types.map(() => '?').join(', ')})`, ...at('e.')];
    return { sql: `SELECT ${q.columns} FROM entries e ${q.joins} WHERE ${where.join(' AND ')} ORDER BY e.seq LIMIT ?`, params: [q.afterSeq, ...q.types, ...bounds, limit] };
  }
  const branch = `SELECT * FROM (SELECT seq FROM entries WHERE ${['type = ?', 'seq > ?', ...at('')].join(' AND ')} ORDER BY seq LIMIT ?)`;
  return {
    sql: `SELECT ${q.columns} FROM (${q.types.map(() => branch).join(' UNION ALL ')}) s JOIN entries e ON e.seq = s.seq ${q.joins} ORDER BY e.seq LIMIT ?`,
    params: [...q.types.flatMap((type) => [type, q.afterSeq, ...bounds, limit]), limit],
  };
}
