import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../src/log/sqlite/migrations.js';
import { forgetKeySql, forgetStatements } from '../src/project/forget.js';

/**
 * What a `log.truncated` forgets (README "Retention") runs hourly over a projection of a whole
 * window: each statement must find its rows by an index over the removed prefix, never by a
 * read of every row of a table.
 */
describe('the projection of a truncation reads by index', () => {
  it('searches every table it touches, and scans none', () => {
    const db = new Database(':memory:');
    migrate(db);
    const plans = [...forgetStatements((t) => `main.${t}`), forgetKeySql((t) => `main.${t}`)].map((sql) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(sql.includes('@first') ? [{ first: 5 }] : ['s', 'k', 'c'])) as { detail: string }[]).map((r) => r.detail),
    );
    expect(plans.flat().filter((detail) => /^SCAN /.test(detail))).toEqual([]);
    expect(plans.map((p) => p.filter((d) => d.startsWith('SEARCH')).length > 0)).toEqual([true, true, true, true, true]);
  });
});
