import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { DamagedEntryError } from '../src/log/damaged-entry.js';
import { EnvironmentError } from '../src/os-errors.js';
import { rebuildProjections } from '../src/project/rebuild/rebuild.js';
import { verifyProjections } from '../src/project/rebuild/verify.js';
import { damageEntryData, eventsLog } from './helpers/damage.js';
import { tempDir } from './helpers/relay.js';

// A rebuild reads the log as pages of JSON made by SQLite, in which an entry's data other than an
// event's is copied as stored: one damaged entry spoils its page's JSON. Pages of 3 rows here.
const rebuild = DEFAULTS.rebuild as { readRows: number; readAsideEntries: number };
const kept = { ...rebuild };
afterAll(() => Object.assign(rebuild, kept));

/** Entries of each kind that is not an event (their data as stored is never read: it is damaged below). */
const KINDS = ['delivery.planned', 'delivery.attempted', 'delivery.dead', 'rules.loaded', 'sink.paused', 'sink.resumed'] as const;

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir('husky-damaged-rebuild-');
});
afterEach(() => temp.cleanup());

/** A closed log of `events` events (seqs 1–`events`), then one entry of each of `types` (the seqs after) holding `{}` (to be damaged). */
function logWith(types: readonly string[], events = 10): string {
  const path = join(temp.dir, 'relay.db');
  eventsLog(path, events);
  // written as they are stored, not appended (which would project data that is damaged next anyway)
  const db = new Database(path);
  const insert = db.prepare(`INSERT INTO entries (type, at, data) VALUES (?, '2026-06-01T10:00:02.000Z', '{}')`);
  for (const type of types) insert.run(type);
  db.close();
  return path;
}

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => new Error('it did not fail'),
    (error: unknown) => error,
  );
}

describe.each([
  { path: 'read on the fold’s thread', aside: Number.MAX_SAFE_INTEGER },
  { path: 'read on a thread of its own', aside: 0 },
])('replay --rebuild and --verify on a log with a damaged entry that is not an event ($path)', ({ aside }) => {
  beforeEach(() => Object.assign(rebuild, { readRows: 3, readAsideEntries: aside }));

  it.each(KINDS)('a damaged %s entry: DamagedEntryError naming its seq, not a SyntaxError', async (kind) => {
    // Given a log whose entry 11 (not an event) holds text that is not JSON
    const seq = 11;
    const path = logWith([kind]);
    damageEntryData(path, seq, '{x');
    const db = new Database(path);
    try {
      // When it is rebuilt, or verified
      for (const run of [() => rebuildProjections(db), () => verifyProjections(db)]) {
        const error = await failure(run);
        // Then the damaged entry is named, with what is wrong
        expect(error).toBeInstanceOf(DamagedEntryError);
        expect((error as DamagedEntryError).seqs).toEqual([seq]);
        expect((error as Error).message).toMatch(new RegExp(`^entry ${seq} of the log is damaged: its data is not valid JSON;`));
      }
    } finally {
      db.close();
    }
  }, 30_000);

  it('several damaged entries in one page: each is named, and what is wrong is said of the first', async () => {
    const path = logWith(['delivery.planned', 'rules.loaded', 'sink.paused'], 12);
    damageEntryData(path, 13, '{x');
    damageEntryData(path, 15, '[');
    damageEntryData(path, 14, '"text"');
    const db = new Database(path);
    try {
      const error = await failure(() => rebuildProjections(db));
      expect(error).toBeInstanceOf(DamagedEntryError);
      // seqs 13–15 are one page of 3 (after 1–3, 4–6, 7–9, 10–12): 14 is JSON, but no object
      expect((error as DamagedEntryError).seqs).toEqual([13, 14, 15]);
      expect((error as Error).message).toMatch(/^entries 13, 14, 15 of the log are damaged \(entry 13: its data is not valid JSON\); run/);
    } finally {
      db.close();
    }
  }, 30_000);

  it('an event rewritten as {} (its columns then empty): named by its seq, never a constraint error', async () => {
    const path = logWith([]);
    damageEntryData(path, 2, '{}');
    const db = new Database(path);
    try {
      for (const run of [() => rebuildProjections(db), () => verifyProjections(db)]) {
        const error = await failure(run);
        expect(error).toBeInstanceOf(DamagedEntryError);
        expect((error as Error).message).toMatch(/^entry 2 of the log is damaged: its data is not what a event\.received entry holds \(event_type is not text \(null\)\); run `husky-relay log --verify`/);
      }
    } finally {
      db.close();
    }
  }, 30_000);

  it('a truncation whose snapshot holds a row with a null count (found only when the batch is written): one line saying so, never a constraint error', async () => {
    const path = logWith(['log.truncated']);
    const snapshot = { events_by_type: [], sink_health: [['hook', null, null, null, null]], sink_state: [], key_state: [], calls: [] };
    damageEntryData(path, 11, JSON.stringify({ before_seq: 1, prev_hash: 'x', entries: 0, calls: 0, snapshot }));
    const db = new Database(path);
    try {
      for (const run of [() => rebuildProjections(db), () => verifyProjections(db)]) {
        const error = await failure(run);
        expect(error).toBeInstanceOf(EnvironmentError);
        expect((error as Error).message).toMatch(/^an entry of the log holds data of another shape than its type's \(NOT NULL constraint failed: .*\); run `husky-relay log --verify` to find it/);
      }
    } finally {
      db.close();
    }
  }, 30_000);

  it.each([
    ['delivery.dead', '{}', 'delivery_id is missing'],
    ['delivery.attempted', '{"delivery_id":123}', 'delivery_id is not text (number)'],
    ['delivery.retried', '{}', 'delivery_id is missing'],
    ['sink.paused', '{"code":"x"}', 'sink is missing'],
    ['log.truncated', '{}', 'before_seq is missing'],
  ])('a %s rewritten as %s is named, not applied to nothing (a dead letter would come back to life)', async (type, data, why) => {
    const path = logWith([type]);
    damageEntryData(path, 11, data);
    const db = new Database(path);
    try {
      for (const run of [() => rebuildProjections(db), () => verifyProjections(db)]) {
        const error = await failure(run);
        expect(error).toBeInstanceOf(DamagedEntryError);
        expect((error as Error).message).toMatch(new RegExp(`^entry 11 of the log is damaged: its data is not what a ${type} entry holds \\(${why.replace(/[()]/g, '\\$&')}\\); run`));
      }
    } finally {
      db.close();
    }
  }, 30_000);

  it('data that is JSON but no object (null) fails the projection of that entry: it is named too', async () => {
    const path = logWith(['delivery.attempted']);
    damageEntryData(path, 11, 'null');
    const db = new Database(path);
    try {
      const error = await failure(() => rebuildProjections(db));
      expect(error).toBeInstanceOf(DamagedEntryError);
      expect((error as Error).message).toMatch(/^entry 11 of the log is damaged: its data is not a JSON object;/);
    } finally {
      db.close();
    }
  }, 30_000);
});
