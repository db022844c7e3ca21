import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveUiToken } from '../src/console/token.js';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { NewEntry } from '../src/log/types.js';
import { removeOrphanScratch, scratchPath } from '../src/project/rebuild/scratch.js';
import { loadKeyring } from '../src/privacy/keys.js';
import { resolveSecrets } from '../src/receive/secrets.js';
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
afterEach(() => {
  vi.restoreAllMocks();
  temp.cleanup();
});

const mode = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;
const event = (id: string): NewEntry => ({
  type: 'event.received',
  data: { event_id: id, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: `call_${id}`, body: `{"said":"${id}"}` },
});
const bodies = async (store: SqliteStore) => (await store.log.read(0)).map((e) => (e.data as { body?: string }).body);
/** A symlink at `links/<name>` (or `at`) to `target`. */
const link = (target: string, at = join(links, 'relay.db')) => (symlinkSync(target, at), at);
/** What the relay wrote to stderr while `run` ran. */
function stderrOf<T>(run: () => T): { value: T; stderr: string } {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { value: run(), stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

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

describe('the master key, webhook secret and console token of a database reached through symlinks', () => {
  it('are one master key for two links in two folders: what one wrote, the other reads', async () => {
    // Given one database, reached through links in two folders
    mkdirSync(real, { mode: 0o700 });
    const first = link(join(real, 'relay.db'));
    mkdirSync(join(temp.dir, 'other'), { mode: 0o700 });
    const second = link(join(real, 'relay.db'), join(temp.dir, 'other', 'relay.db'));
    // When a payload is sealed through the first and read through the second
    const writer = new SqliteStore(first);
    await writer.writer.append([event('a')]);
    await writer.close();
    const reader = new SqliteStore(second);
    // Then it opens: one master-key file, beside the database file, none beside the links
    expect(await bodies(reader)).toEqual(['{"said":"a"}']);
    await reader.close();
    expect(mode(join(real, 'master-key'))).toBe('0600');
    expect(existsSync(join(links, 'master-key'))).toBe(false);
    expect(existsSync(join(temp.dir, 'other', 'master-key'))).toBe(false);
  });

  it('follow a chain of links to the database file: one webhook secret and one console token, whichever link is given', () => {
    // Given links/a.db -> chain/b.db -> real/relay.db, in three folders
    mkdirSync(real, { mode: 0o700 });
    mkdirSync(join(temp.dir, 'chain'), { mode: 0o700 });
    const middle = link(join(real, 'relay.db'), join(temp.dir, 'chain', 'b.db'));
    const outer = link(middle, join(links, 'a.db'));
    // When serve generates the secret and the token through the outer link
    const secret = resolveSecrets(undefined, outer, true)!;
    const token = resolveUiToken(undefined, outer);
    // Then they sit beside the database file, and the middle link and the real path find the same ones
    expect([secret.file, token.file]).toEqual([join(real, 'webhook-secret'), join(real, 'ui-token')]);
    for (const path of [middle, join(real, 'relay.db')]) {
      expect(resolveSecrets(undefined, path, false)!.secrets).toEqual(secret.secrets);
      expect(resolveUiToken(undefined, path).token).toBe(token.token);
    }
  });

  it('a folder reached through a symlinked folder is the same folder: its files are neither copied nor refused', () => {
    // Given --db through a symlink to the database's folder, and a secret already there
    mkdirSync(real, { mode: 0o700 });
    new Database(join(real, 'relay.db')).close();
    writeFileSync(join(real, 'webhook-secret'), 'hsk_0123456789abcdefghij\n', { mode: 0o600 });
    symlinkSync(real, join(temp.dir, 'folder-link'));
    // When it is resolved through the link
    const { value, stderr } = stderrOf(() => resolveSecrets(undefined, join(temp.dir, 'folder-link', 'relay.db'), true)!);
    // Then the one file is used, and nothing is said
    expect([value.file, value.secrets, value.generated, stderr]).toEqual([join(real, 'webhook-secret'), ['hsk_0123456789abcdefghij'], false, '']);
  });
});

describe('files an older relay kept beside the symlink', () => {
  const KEY = 'ab'.repeat(32);

  it('a master key only beside the link is copied beside the database file, kept where it was, and said so once', async () => {
    // Given a deployment whose relay generated its master key beside the link, and sealed a payload with it
    mkdirSync(real, { mode: 0o700 });
    const dbPath = link(join(real, 'relay.db'));
    const old = join(links, 'master-key');
    writeFileSync(old, `${KEY}\n`, { mode: 0o600 });
    const store = new SqliteStore(join(real, 'relay.db'), { masterKeys: KEY });
    await store.writer.append([event('a')]);
    await store.close();
    // When this relay opens it through the link
    const { value: ring, stderr } = stderrOf(() => loadKeyring(dbPath));
    // Then that key is used, now from a copy beside the database file (0600), the old file untouched, and a line says so
    expect([ring.source, ring.current.key.toString('hex')]).toEqual([join(real, 'master-key'), KEY]);
    expect(readFileSync(join(real, 'master-key'), 'utf8')).toBe(`${KEY}\n`);
    expect(mode(join(real, 'master-key'))).toBe('0600');
    expect(readdirSync(real).filter((name) => name.includes('master-key'))).toEqual(['master-key']); // no scratch copy left
    expect(readFileSync(old, 'utf8')).toBe(`${KEY}\n`);
    expect(stderr).toBe(
      `husky-relay: copied the master key from ${old} (beside the --db symlink) to ${join(real, 'master-key')} (beside the database file), where every path to the database finds it; ${old} is no longer read: delete it once you have checked the copy\n`,
    );
    // And the log opens through its real path too, with nothing more said
    const { value: again, stderr: quiet } = stderrOf(() => new SqliteStore(join(real, 'relay.db')));
    expect(await bodies(again)).toEqual(['{"said":"a"}']);
    expect(quiet).toBe('');
    await again.close();
  });

  it('a master key beside the link is read where it is when no copy can be made beside the database file', () => {
    // Given the key beside the link, and in the database's folder a master-key that cannot be read nor replaced (a dangling link)
    mkdirSync(real, { mode: 0o700 });
    writeFileSync(join(links, 'master-key'), `${KEY}\n`, { mode: 0o600 });
    symlinkSync(join(temp.dir, 'gone', 'master-key'), join(real, 'master-key'));
    const dbPath = link(join(real, 'relay.db'));
    // When the keyring is loaded through the link
    const { value: ring, stderr } = stderrOf(() => loadKeyring(dbPath));
    // Then the key beside the link is used where it is (never a new one), and a line says why
    expect([ring.source, ring.current.key.toString('hex')]).toEqual([join(links, 'master-key'), KEY]);
    expect(stderr).toBe(
      `husky-relay: using the master key at ${join(links, 'master-key')} (beside the --db symlink): it could not be copied beside the database file to ${join(real, 'master-key')} (something there is not a file it can read)\n`,
    );
  });

  it.each([
    ['master key', 'master-key', (db: string) => loadKeyring(db), `${'cd'.repeat(32)}\n`],
    ['webhook secret', 'webhook-secret', (db: string) => resolveSecrets(undefined, db, true), 'hsk_another_secret_of_twenty\n'],
    ['console token', 'ui-token', (db: string) => resolveUiToken(undefined, db), 'hrui_another_token_of_twenty\n'],
  ])('a %s beside the link and another beside the database file are refused, naming both', (what, name, resolve, other) => {
    // Given two different files for one database
    mkdirSync(real, { mode: 0o700 });
    const dbPath = link(join(real, 'relay.db'));
    writeFileSync(join(links, name), `${KEY}\n`, { mode: 0o600 });
    writeFileSync(join(real, name), other, { mode: 0o600 });
    // Then nothing guesses which is right, through either path, and both stay as they were
    const message = `two ${what} files for one database differ: ${join(real, name)} (beside the database file, used) and ${join(links, name)} (beside the --db symlink); keep the right one at ${join(real, name)} and delete the other (README "Files beside the database")`;
    expect(() => resolve(dbPath)).toThrow(message);
    expect(readFileSync(join(links, name), 'utf8')).toBe(`${KEY}\n`);
    expect(readFileSync(join(real, name), 'utf8')).toBe(other);
  });

  it('the same file beside both (spaces aside) is no conflict: the one beside the database file is used', () => {
    mkdirSync(real, { mode: 0o700 });
    const dbPath = link(join(real, 'relay.db'));
    writeFileSync(join(links, 'webhook-secret'), 'hsk_0123456789abcdefghij', { mode: 0o600 });
    writeFileSync(join(real, 'webhook-secret'), 'hsk_0123456789abcdefghij\n', { mode: 0o600 });
    expect(resolveSecrets(undefined, dbPath, false)).toMatchObject({ file: join(real, 'webhook-secret'), secrets: ['hsk_0123456789abcdefghij'] });
  });
});

describe('the rebuild scratch file of a database reached through a symlink', () => {
  it('sits beside the database file, and a killed rebuild\'s is removed through any link', () => {
    // Given a scratch database a killed rebuild left beside the database file
    mkdirSync(real, { mode: 0o700 });
    new Database(join(real, 'relay.db')).close();
    const dbPath = link(join(real, 'relay.db'));
    const orphan = join(real, 'relay.db.rebuild-999999999.tmp');
    new Database(orphan).close();
    // Then the path a rebuild through the link uses is beside the database file
    expect(scratchPath(dbPath, 42)).toBe(join(real, 'relay.db.rebuild-42.tmp'));
    // And serve's start through the link removes the orphan
    expect(removeOrphanScratch(dbPath)).toEqual([orphan]);
    expect(existsSync(orphan)).toBe(false);
  });
});
