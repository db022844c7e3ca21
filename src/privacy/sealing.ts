import { EnvironmentError } from '../os-errors.js';
import { GENESIS, linkHash, type ChainLink } from './chain.js';
import { newDataKey, unwrapKey, wrapKey, wrappedBy, type Keyring } from './keys.js';
import { ERASED, joinEntry, openPayload, payloadDigest, sealPayload, splitEntry } from './payload.js';
import type { Entry, NewEntry } from '../log/types.js';
import { DamagedEntryError, entryData } from '../log/damaged-entry.js';

/**
 * Facts and payloads as every engine stores them (README "Personal data"): on append, an entry
 * split, chained and its payload sealed under its call's data key; on read, opened again or
 * shown `[erased]`. Engine-independent: an engine's SQL (log/sqlite/sealed.ts,
 * log/pg/pg-sealed.ts) keeps the rows, this decides what goes in them.
 */

/** An entry as an engine reads it back: the entry's columns, its payload and its call's wrapped key (both null once erased). */
export interface SealedRow {
  seq: number;
  type: string;
  at: string;
  /** The facts, as the JSON text stored. */
  data: string;
  hash: string | null;
  digest: string | null;
  sealed: Buffer | null;
  wrapped: Buffer | null;
}

/** The call key of entries with no call (operator plans): the relay's own, never erased. */
export const RELAY_KEY = '';

/**
 * Where an engine keeps the calls' data keys, as `Sealing.prepare` asks for them: synchronous
 * (SQLite asks its statements; PostgreSQL fetches a batch's keys first, under its append lock).
 */
export interface DataKeyStore {
  /** The call's wrapped data key, if one is stored. */
  wrappedOf(callId: string): Buffer | undefined;
  /** Whether the call was erased (its key is gone for good: no new one is made). */
  isErased(callId: string): boolean;
  /** Stores a new wrapped data key for the call. */
  addKey(callId: string, wrapped: Buffer): void;
}

/** An entry ready to insert (see `Sealing.prepare`). */
export interface PreparedEntry {
  /** The facts as JSON text. */
  data: string;
  /** The payload's digest; `[erased]` for a payload of a call erased before; null for an entry without payload. */
  digest: string | null;
  hash: string;
  /** The row of `payloads` to insert once the entry is in; null when there is none to store. */
  payload: { callId: string; sealed: Buffer } | null;
}

/** The call whose data key seals `entry`'s payload, or null for an entry without payload. Pure. */
export function payloadKeyOf(entry: NewEntry): string | null {
  const split = splitEntry(entry);
  return split.payload === null ? null : (split.callId ?? RELAY_KEY);
}

/** The crypto and the chain of one keyring, with its opened data keys cached. */
export class Sealing {
  /** Unwrapped data keys by their wrapped bytes (a call's entries come in bursts). */
  private readonly opened = new Map<string, Buffer>();

  constructor(readonly ring: Keyring) {}

  /** The hash before the first entry. */
  readonly genesis = GENESIS;

  /**
   * `entry` ready to insert as `seq` after `prev` (the hash of entry `seq - 1`): its facts, its
   * payload's digest and sealed bytes (under its call's key from `keys`, made when the call has
   * none yet), and its hash.
   */
  prepare(entry: NewEntry, seq: number, at: string, prev: string, keys: DataKeyStore): PreparedEntry {
    const split = splitEntry(entry);
    let digest: string | null = null;
    let payload: PreparedEntry['payload'] = null;
    if (split.payload !== null) {
      const callId = split.callId ?? RELAY_KEY;
      const key = this.dataKey(callId, true, keys);
      if (key === null) digest = ERASED;
      else {
        digest = payloadDigest(key, split.payload);
        payload = { callId, sealed: sealPayload(key, seq, split.payload) };
      }
    }
    const hash = linkHash(prev, { seq, type: entry.type, at, facts: split.facts, digest });
    return { data: JSON.stringify(split.facts), digest, hash, payload };
  }

  /** The call's data key; made (and wrapped) when `create` and the call has none; null once the call was erased. */
  dataKey(callId: string, create: boolean, keys: DataKeyStore): Buffer | null {
    const wrapped = keys.wrappedOf(callId);
    if (wrapped) return this.unwrapped(wrapped);
    if (!create || keys.isErased(callId)) return null;
    const key = newDataKey();
    keys.addKey(callId, wrapKey(this.ring, key));
    return key;
  }

  /** Whether `wrapped` was wrapped by another master key than the current one (rotation). */
  isOld(wrapped: Buffer): boolean {
    return wrappedBy(wrapped) !== this.ring.current.id;
  }

  /** `wrapped`'s data key wrapped again by the current master key (rotation). Throws as `unwrapKey`. */
  rewrap(wrapped: Buffer): Buffer {
    return wrapKey(this.ring, unwrapKey(this.ring, wrapped));
  }

  /** An entry as readers see it: payload opened, or `[erased]` in its place; with its `hash` when `withHash`. Throws `DamagedEntryError` when its facts are not a JSON object, or its payload does not decrypt. */
  entryOf(row: SealedRow, withHash = false): Entry {
    const facts = entryData(row);
    let payload: string | null = null;
    if (row.sealed && row.wrapped) {
      try {
        payload = openPayload(this.unwrapped(row.wrapped), row.seq, row.sealed);
      } catch (error) {
        if (error instanceof EnvironmentError) throw error;
        throw new DamagedEntryError([row.seq], 'its payload does not decrypt: it was altered');
      }
    }
    const data = joinEntry(row.type, facts, payload, row.digest !== null);
    return { seq: row.seq, type: row.type, at: row.at, data, ...(withHash && row.hash !== null && { hash: row.hash }) } as unknown as Entry;
  }

  /** An entry as its facts alone (`ReadOptions.facts`): no payload opened; with its `hash` when `withHash`. Throws `DamagedEntryError` as `entryOf`. */
  factsOf(row: Pick<SealedRow, 'seq' | 'type' | 'at' | 'data' | 'hash'>, withHash = false): Entry {
    return { seq: row.seq, type: row.type, at: row.at, data: entryData(row), ...(withHash && row.hash !== null && { hash: row.hash }) } as unknown as Entry;
  }

  /**
   * `row` as `verifyChain` checks it, with the problem found in its payload if any: a payload
   * or key gone while no `call.erased` entry (`erased`: the call ids they name) erased its call,
   * or a payload that does not open or does not match its digest; facts that are not a JSON
   * object (a damaged entry: `entryData`'s words) are its problem too. Throws `EnvironmentError`
   * when the master key is missing (no sign of tampering).
   */
  linkOf(row: SealedRow, erased: ReadonlySet<unknown>): ChainLink & { hash: string | null } {
    let problem: string | undefined;
    let facts: { call_id?: unknown } = {};
    try {
      facts = entryData(row);
    } catch (error) {
      if (!(error instanceof DamagedEntryError)) throw error;
      problem = error.what;
    }
    if (problem) {
      // facts that cannot be read: nothing else of the entry can be checked
    } else if (row.digest && row.digest !== ERASED && !(row.sealed && row.wrapped) && !erased.has(facts.call_id)) {
      problem = `its payload${row.sealed ? "'s data key" : ''} is gone, yet no call.erased entry erased its call`;
    } else if (row.sealed && row.wrapped && row.digest) {
      try {
        const key = this.unwrapped(row.wrapped);
        if (payloadDigest(key, openPayload(key, row.seq, row.sealed)) !== row.digest) problem = 'its payload does not match its digest';
      } catch (error) {
        if (error instanceof EnvironmentError) throw error;
        problem = 'its payload does not decrypt (altered)';
      }
    }
    return { seq: row.seq, type: row.type, at: row.at, facts, digest: row.digest, hash: row.hash, ...(problem && { problem }) };
  }

  /** A wrapped data key, opened by the keyring (cached). Throws as `unwrapKey`. */
  unwrapped(wrapped: Buffer): Buffer {
    const id = wrapped.toString('base64');
    let key = this.opened.get(id);
    if (!key) {
      if (this.opened.size >= 4096) this.opened.clear();
      key = unwrapKey(this.ring, wrapped);
      this.opened.set(id, key);
    }
    return key;
  }
}
