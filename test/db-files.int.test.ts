import { mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { NewEntry } from '../src/log/types.js';
import { tempDir } from './helpers/relay.js';

/** The files of a database reached through a symlink (README "Files beside the database"). */
let temp: ReturnType<typeof tempDir>;
let real: string;
let links: string;
beforeEach(() => {
  temp = tempDir('husky-db-files-');
  real = join(temp.dir, 'real');
  links = join(temp.dir, 'links');
  mkdirSync(links, { mode: 0o700 });
});
afterEach(() => temp.cleanup());

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;
const event = (id: string): NewEntry => ({
  type: 'event.received',
  data: { event_id: id, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: `call_${id}`, body: `{"said":"${id}"}` },
});
/** A symlink at `links/<name>` (or `at`) to `target`. */
const link = (target: string, at = join(links, 'relay.db')) => (symlinkSync(target, at), at);

describe('a database created through a dangling symlink', () => {
  it.each([
    ['its folder does not exist yet', false],
    ['its folder exists', true],
  ])('is 0600, with its -wal and -shm, where the link leads (%s)', async (_, folderExists) => {
    // Given a link made before the database (and maybe its folder) exists
    if (folderExists) mkdirSync(real, { mode: 0o700 });
    const dbPath = link(join(real, 'relay.db'));
    // When the log is opened through it and an event appended
    const store = new SqliteStore(dbPath);
    await store.writer.append([event('a')]);
    // Then the database and SQLite's files beside it are private, in a private folder
    for (const file of ['relay.db', 'relay.db-wal', 'relay.db-shm']) expect([file, mode(join(real, file))]).toEqual([file, '0600']);
    expect(mode(real)).toBe('0700');
    await store.close();
  });
});
