import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { NewEntry } from '../src/log/types.js';
import { masterKeyFileFor, parseMasterKeys } from '../src/privacy/keys.js';
import { damagePayload } from './helpers/damage.js';
import { tempDir } from './helpers/relay.js';

/** Master keys, rotation and tampered payloads (README "Personal data"). */
let temp: ReturnType<typeof tempDir>;
let dbPath: string;
beforeEach(() => {
  temp = tempDir();
  dbPath = join(temp.dir, 'data', 'relay.db');
});
afterEach(() => temp.cleanup());

const OLD = '11'.repeat(32);
const NEW = Buffer.alloc(32, 7).toString('base64');
const event = (id: string): NewEntry => ({
  type: 'event.received',
  data: { event_id: id, event_type: 'call.completed', org_id: 'o', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:00Z', call_id: `call_${id}`, body: `{"secret":"${id}"}` },
});
const bodies = async (store: SqliteStore) => (await store.log.read(0)).map((e) => (e.data as { body?: string }).body);

describe('master keys (README "Personal data")', () => {
  it('without HUSKY_RELAY_MASTER_KEY, generates master-key beside the database, 0600 in a 0700 folder, and reuses it', async () => {
    const store = new SqliteStore(dbPath);
    await store.writer.append([event('a')]);
    await store.close();
    expect(statSync(masterKeyFileFor(dbPath)).mode & 0o777).toBe(0o600);
    expect(statSync(join(temp.dir, 'data')).mode & 0o777).toBe(0o700);
    const again = new SqliteStore(dbPath);
    expect(await bodies(again)).toEqual(['{"secret":"a"}']);
    await again.close();
  });

  it('a database copied without its master-key file is refused, naming the key, and no new key is made beside it', async () => {
    // Given a database whose calls' keys were wrapped by its generated master key, copied alone
    const store = new SqliteStore(dbPath);
    await store.writer.append([event('a')]);
    await store.close();
    rmSync(masterKeyFileFor(dbPath));
    // When it is opened without HUSKY_RELAY_MASTER_KEY
    // Then it is refused, saying what to do, and no other key file appears to mix keys in the file
    expect(() => new SqliteStore(dbPath)).toThrow(/data keys were wrapped by master key [0-9a-f]{16}, and there is no master key: HUSKY_RELAY_MASTER_KEY is unset and .*master-key does not exist/);
    expect(existsSync(masterKeyFileFor(dbPath))).toBe(false);
  });

  it('refuses a key that is not 32 bytes, naming the variable', () => {
    expect(() => parseMasterKeys('abc')).toThrow('HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes');
    expect(() => parseMasterKeys(` , `)).toThrow('HUSKY_RELAY_MASTER_KEY holds no key');
  });

  it('rotates: NEW,OLD opens the old calls and re-wraps their keys, after which NEW alone opens everything', async () => {
    // Given a log written under the old key
    const before = new SqliteStore(dbPath, { masterKeys: OLD });
    await before.writer.append([event('a'), event('b')]);
    await before.close();
    // When it is opened with the new key first and the old one after, and written to
    const rotating = new SqliteStore(dbPath, { masterKeys: `${NEW},${OLD}` });
    await rotating.writer.append([event('c')]);
    expect(await bodies(rotating)).toEqual(['{"secret":"a"}', '{"secret":"b"}', '{"secret":"c"}']);
    await rotating.close();
    // Then the new key alone opens every payload, and the old key alone none
    const rotated = new SqliteStore(dbPath, { masterKeys: NEW });
    expect(await bodies(rotated)).toEqual(['{"secret":"a"}', '{"secret":"b"}', '{"secret":"c"}']);
    expect((await rotated.privacy.verifyChain()).ok).toBe(true);
    await rotated.close();
    const stale = new SqliteStore(dbPath, { masterKeys: OLD });
    await expect(stale.log.read(0)).rejects.toThrow('does not hold');
    await stale.close();
  });
});

describe('log --verify and payloads (README "Personal data")', () => {
  it('names the entry whose stored payload was altered, or moved to another entry', async () => {
    const store = new SqliteStore(dbPath);
    await store.writer.append([event('a'), event('b'), event('c')]);
    await store.close();
    // Given a byte of entry 2's ciphertext flipped, triggers or not (payloads have none)
    damagePayload(dbPath, 2);
    const altered = new SqliteStore(dbPath);
    expect(await altered.privacy.verifyChain()).toEqual({ ok: false, entries: 1, seq: 2, reason: 'its payload does not decrypt (altered)' });
    await expect(altered.log.read(0)).rejects.toThrow('entry 2 of the log is damaged: its payload does not decrypt: it was altered; run `husky-relay log --verify`');
    await altered.close();
  });
});
