import type { Database } from 'better-sqlite3';
import { buildScratch, finishedAll, SCRATCH, type BuildOptions } from './scratch.js';

type Row = Record<string, unknown>;

/** One row that is not the same in the live projections and in a fresh rebuild. */
export type Difference =
  | { table: string; key: Row; kind: 'differs'; columns: { column: string; live: unknown; rebuilt: unknown }[] }
  | { table: string; key: Row; kind: 'only_live'; row: Row }
  | { table: string; key: Row; kind: 'only_rebuilt'; row: Row };

export interface VerifyResult {
  identical: boolean;
  /** Entries replayed, through `last_seq`. */
  entries: number;
  last_seq: number;
  tables: string[];
  /** Rows that differ, in total (only the first `limit` per table are in `differences`). */
  count: number;
  differences: Difference[];
}

/**
 * Rebuilds every projection into a scratch database and compares it row by row with the
 * live tables. Read-only for the live database, so it runs beside `serve`: the catch-up and
 * the comparison share one read snapshot, taken when the build has finished.
 */
export async function verifyProjections(db: Database, options: BuildOptions & { limit?: number } = {}): Promise<VerifyResult> {
  const limit = options.limit ?? 20;
  const scratch = await buildScratch(db, options);
  try {
    const result = db.transaction(() => {
      scratch.catchUp();
      let count = 0;
      const differences: Difference[] = [];
      for (const table of scratch.tables) {
        const diff = compareTable(db, table, limit);
        count += diff.count;
        differences.push(...diff.differences);
      }
      return { identical: count === 0, entries: scratch.entries, last_seq: scratch.lastSeq, tables: scratch.tables, count, differences };
    })();
    finishedAll(options, scratch);
    return result;
  } finally {
    scratch.close();
  }
}

function compareTable(db: Database, table: string, limit: number): { count: number; differences: Difference[] } {
  const live = `SELECT * FROM main."${table}"`;
  const rebuilt = `SELECT * FROM ${SCRATCH}."${table}"`;
  const onlyLive = db.prepare(`${live} EXCEPT ${rebuilt}`).all() as Row[];
  const onlyRebuilt = db.prepare(`${rebuilt} EXCEPT ${live}`).all() as Row[];
  if (onlyLive.length === 0 && onlyRebuilt.length === 0) return { count: 0, differences: [] };

  const info = db.prepare(`SELECT name, pk FROM pragma_table_info(?, 'main') ORDER BY pk`).all(table) as { name: string; pk: number }[];
  const differences = diffRows(table, info.filter((c) => c.pk > 0).map((c) => c.name), onlyLive, onlyRebuilt);
  return { count: differences.length, differences: differences.slice(0, limit) };
}

/**
 * The differences of one table from the rows only the live table has and those only the rebuilt
 * one has (an EXCEPT each way): rows with the same primary key `pk` differ column by column.
 */
export function diffRows(table: string, pk: string[], onlyLive: Row[], onlyRebuilt: Row[]): Difference[] {
  const keyOf = (row: Row): Row => Object.fromEntries(pk.map((c) => [c, row[c]]));
  const id = (row: Row) => JSON.stringify(pk.map((c) => row[c]));

  const rebuiltByKey = new Map(onlyRebuilt.map((row) => [id(row), row]));
  const differences: Difference[] = [];
  for (const row of onlyLive) {
    const other = rebuiltByKey.get(id(row));
    if (other) {
      rebuiltByKey.delete(id(row));
      const columns = Object.keys(row)
        .filter((c) => !Object.is(row[c], other[c]))
        .map((column) => ({ column, live: row[column], rebuilt: other[column] }));
      differences.push({ table, key: keyOf(row), kind: 'differs', columns });
    } else {
      differences.push({ table, key: keyOf(row), kind: 'only_live', row });
    }
  }
  for (const row of rebuiltByKey.values()) differences.push({ table, key: keyOf(row), kind: 'only_rebuilt', row });
  return differences;
}
