import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { randomSlice } from './random.js';
import { dirname } from 'node:path';
import { codeOf, EnvironmentError, fileError } from '../os-errors.js';
import { UserError } from '../errors.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../log/private-files.js';
import { privateFileOf } from '../log/db-files.js';

/**
 * Master keys (README "Personal data"): each call's data key is wrapped (AES-256-GCM) by the
 * current master key; a data key wrapped by an older one is still opened while that key is
 * listed (rotation). Master keys never enter the database file.
 */

/** One master key: 32 bytes, and its id (the first 8 bytes of a SHA-256 of it, as hex). */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/** The master keys in use: `current` wraps new data keys; every one listed opens old ones. */
export interface Keyring {
  current: MasterKey;
  byId: ReadonlyMap<string, MasterKey>;
  /** Where the keys came from: `HUSKY_RELAY_MASTER_KEY`, or the file's path. */
  source: string;
}

const ENV = 'HUSKY_RELAY_MASTER_KEY';
const WRAP_VERSION = 1;

/**
 * The generated master-key file beside the database file (`<folder>/master-key`, symlinks
 * followed: see `privateFileOf`, which may copy one an older relay kept beside a symlink, and
 * throws when two differ).
 */
export function masterKeyFileFor(dbPath: string): string {
  return privateFileOf(dbPath, 'master-key', 'master key');
}

/**
 * Parses a list of master keys, comma-separated, the first being current: each 64 hex
 * characters or the base64 of 32 bytes. Throws `UserError` naming `where` for anything else.
 */
export function parseMasterKeys(value: string, where = ENV): MasterKey[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new UserError(`${where} holds no key: give 64 hex characters (openssl rand -hex 32)`);
  return parts.map((part, i) => {
    const key = /^[0-9a-fA-F]{64}$/.test(part) ? Buffer.from(part, 'hex') : Buffer.from(part, 'base64');
    if (key.length !== 32) throw new UserError(`${where}: key ${i + 1} is not 32 bytes (64 hex characters, or base64 of 32 bytes; openssl rand -hex 32)`);
    return { id: createHash('sha256').update('husky-relay master key id\0').update(key).digest('hex').slice(0, 16), key };
  });
}

/**
 * The keyring of the log at `dbPath`: from `envValue` (`HUSKY_RELAY_MASTER_KEY`) when set, else
 * the `master-key` file beside the database file (`masterKeyFileFor`), which is generated (mode
 * 0600) when missing. Throws `UserError` for an unusable key, `EnvironmentError` when the file
 * cannot be read or made, when it and an older one beside a `--db` symlink differ,
 * or is missing while `wrappedById()` names the master key of a data key the database already
 * holds (a copied database: a new key would open none of them, and would mix keys in one file).
 */
export function loadKeyring(dbPath: string, envValue?: string, wrappedById?: () => string | null): Keyring {
  if (envValue?.trim()) return ringOf(parseMasterKeys(envValue), ENV);
  const file = masterKeyFileFor(dbPath);
  return ringOf(parseMasterKeys(readOrCreate(file, wrappedById), file), file);
}

function ringOf(keys: MasterKey[], source: string): Keyring {
  return { current: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])), source };
}

/**
 * The keyring of a log with no folder beside it to keep a generated key in (PostgreSQL): from
 * `envValue` (`HUSKY_RELAY_MASTER_KEY`) only. Throws `UserError` naming the variable when it is
 * unset or empty, and as `parseMasterKeys` for an unusable key.
 */
export function requireKeyring(envValue: string | undefined, what: string): Keyring {
  if (!envValue?.trim()) throw new UserError(`${ENV} is required for ${what}: set it to 64 hex characters (openssl rand -hex 32) and keep it safe (README "Personal data")`, 'master_key_required');
  return ringOf(parseMasterKeys(envValue), ENV);
}

function readOrCreate(file: string, wrappedById?: () => string | null): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw fileError(error, 'cannot read the master key in', file);
  }
  const id = wrappedById?.();
  if (id) {
    throw new EnvironmentError(
      `the database's data keys were wrapped by master key ${id}, and there is no master key: ${ENV} is unset and ${file} does not exist; set ${ENV}, or put the database's master-key file back (README "Personal data")`,
      'master_key_missing',
    );
  }
  ensurePrivateFolder(dirname(file));
  try {
    // 'wx': if another process (serve and a CLI) got there first, its key wins and we read it
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch (error) {
    if (codeOf(error) !== 'EEXIST') throw fileError(error, 'cannot write the master key to', file);
  }
  return readFileSync(file, 'utf8');
}

/** A fresh data key (32 random bytes) for one call. */
export function newDataKey(): Buffer {
  return randomSlice(32);
}

/** `dataKey` wrapped by the current master key: version, key id, IV, tag, ciphertext. */
export function wrapKey(ring: Keyring, dataKey: Buffer): Buffer {
  const iv = randomSlice(12);
  const cipher = createCipheriv('aes-256-gcm', ring.current.key, iv);
  const sealed = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), Buffer.from(ring.current.id, 'hex'), iv, cipher.getAuthTag(), sealed]);
}

/** The id of the master key that wrapped `wrapped` (to re-wrap under the current one). */
export function wrappedBy(wrapped: Buffer): string {
  return wrapped.subarray(1, 9).toString('hex');
}

/**
 * SQL (both engines) for the wrapped data keys of the first and the last payload stored: what
 * `checkKeyring` is given at open. Two look-ups by the payloads' primary key, however large the log.
 */
export const EDGE_KEYS_SQL = `SELECT k.wrapped FROM call_keys k WHERE k.call_id IN (
  (SELECT call_id FROM payloads ORDER BY seq LIMIT 1), (SELECT call_id FROM payloads ORDER BY seq DESC LIMIT 1))`;

/**
 * Refuses a keyring that cannot open the log's data keys (`wrapped`: some of them, e.g. those of
 * `EDGE_KEYS_SQL`), before anything is appended: a relay started with a new key and without the
 * old one would otherwise answer until the first event of a known call, then fail every one
 * (README "Encryption at rest"). Throws `EnvironmentError` `master_key_missing` naming the key.
 */
export function checkKeyring(ring: Keyring, wrapped: readonly Buffer[]): void {
  for (const w of wrapped) {
    const id = wrappedBy(w);
    if (!ring.byId.has(id)) {
      throw new EnvironmentError(
        `the log's data keys were wrapped by master key ${id}, which ${ring.source} does not hold: set ${ENV}=NEW,OLD with that key after the new one (rotation), or set it back (README "Personal data")`,
        'master_key_missing',
      );
    }
  }
}

/**
 * Opens a wrapped data key. Throws `EnvironmentError` when the master key that wrapped it is not
 * in the ring (a copied database, a key dropped from the list too early) or the bytes were altered.
 */
export function unwrapKey(ring: Keyring, wrapped: Buffer): Buffer {
  const id = wrappedBy(wrapped);
  const master = ring.byId.get(id);
  if (!master || wrapped[0] !== WRAP_VERSION) {
    throw new EnvironmentError(
      `a call's data key was wrapped by master key ${id}, which ${ring.source} does not hold: list it after the current key (${ENV}=NEW,OLD)`,
      'master_key_missing',
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, wrapped.subarray(9, 21));
    decipher.setAuthTag(wrapped.subarray(21, 37));
    return Buffer.concat([decipher.update(wrapped.subarray(37)), decipher.final()]);
  } catch {
    throw new EnvironmentError(`a call's data key does not open with master key ${id}: it was altered`, 'data_key_damaged');
  }
}
