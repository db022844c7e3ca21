import type { ChainVerdict, LogStart } from '../privacy/chain.js';
import type { Truncation } from '../privacy/truncation.js';
import type { NewEntry } from './types.js';

/**
 * The seam's side of personal data (README "Personal data"): what erasure, retention and
 * `log --verify` ask of an engine, and the rows `migrate --to` copies as stored. Part of the
 * one seam to the log (`seam.ts`, which re-exports it).
 */

/** `PrivacyLog.erase`'s request (README "Personal data"). */
export interface EraseRequest {
  callIds: string[];
  /** `call.erased`'s `reason`, `by` and `downstream`. */
  reason: string;
  by: string;
  downstream: boolean;
  /** More entries to append in the same transaction, after the erasures (the `--downstream` plans). */
  also?: (erased: string[]) => Promise<NewEntry[]> | NewEntry[];
}

/** What became of one call in `PrivacyLog.erase`. */
export interface ErasedCall {
  call_id: string;
  /** Payloads deleted (events' bodies, plans' requests). */
  payloads: number;
  /** Open deliveries of the call, now dead (they can no longer be sent). */
  closed: number;
  /** Seq of its `call.erased`; null when it had been erased before (nothing was done). */
  seq: number | null;
}

/**
 * What `erase` did; `walTruncated` false when a reader kept the WAL from being emptied (it is, at
 * the next checkpoint). On PostgreSQL: false when `VACUUM payloads, call_keys` after the commit
 * failed (autovacuum frees the dead rows later).
 */
export interface EraseResult {
  calls: ErasedCall[];
  walTruncated: boolean;
  /** When `walTruncated` is false: what is left of the erased rows and when it goes, one line for the operator, in the engine's terms. */
  leftover: string | null;
}

/** What erasing a call would delete (`erase --dry-run`). */
export interface ErasableCall {
  call_id: string;
  /** Its events in the log. */
  events: number;
  /** Payloads still stored. */
  payloads: number;
  erased: boolean;
}

/**
 * Personal data in the log (README "Personal data"): erasure by call or contact, retention's
 * choice of calls, and the hash chain. An engine keeps payloads apart from facts so that
 * `erase` removes every byte of them; the logic it needs lives in `src/privacy/`.
 */
export interface PrivacyLog {
  /** Calls with an event whose data holds this email or phone (`erase --contact`). Throws `UserError` for neither. */
  callsOfContact(contact: string): Promise<string[]>;
  /** Each of these calls as erasure would find it; unknown calls are left out. */
  erasable(callIds: readonly string[]): Promise<ErasableCall[]>;
  /**
   * In one transaction: deletes the calls' payloads and data keys, appends one `call.erased`
   * each and a `delivery.dead` for each of their open deliveries, then `also`'s entries; then
   * empties the WAL so no old page of them remains (PostgreSQL: vacuums the dead rows). A call
   * erased before is left alone. Throws `WriteInterruptedError` when the store's `interrupt`
   * aborted before its transaction began (SQLite): nothing was erased.
   */
  erase(request: EraseRequest): Promise<EraseResult>;
  /** Calls not erased yet whose last event was appended before `before` (ISO), at most `limit` (retention). */
  callsLastSeenBefore(before: string, limit: number): Promise<string[]>;
  /**
   * Removes the entries retention has finished with from the front of the log, at most
   * `MAX_ENTRIES` (`privacy/truncation.ts`: which ones, and why), in one transaction with the
   * `log.truncated` entry that says so; null when none can go. `windowMs`: the retention window.
   */
  truncate(now: Date, windowMs: number): Promise<Truncation | null>;
  /** Recomputes the hash chain from the log's first entry (seq 1, or where retention left it), and checks each stored payload against its digest (`log --verify`). */
  verifyChain(): Promise<ChainVerdict>;
  /**
   * The engine's own check of the log's storage (`log --verify`, before the chain): on SQLite,
   * `PRAGMA integrity_check(entries)` (the entries table and its indexes, every page read);
   * its findings (empty when sound), but for rows whose data fails its JSON check: those are
   * damaged entries, which `verifyChain` names by seq. PostgreSQL checks its pages itself: empty.
   */
  verifyPages(): Promise<string[]>;
  /** The last entry's hash; null for an empty log (`status --json` `chain_head`). */
  chainHead(): Promise<string | null>;
}

/** An entry as an engine stores it (README "Personal data"): its facts, its link in the chain, its sealed payload. */
export interface StoredEntry {
  seq: number;
  type: string;
  at: string;
  /** The facts, as the JSON text stored. */
  data: string;
  dedupe_key: string | null;
  hash: string | null;
  digest: string | null;
  /** The payload's row (`payloads.call_id`, `payloads.sealed`), or nulls: none, or erased. */
  payload_call: string | null;
  sealed: Buffer | null;
}

/** A log's rows as stored, payloads sealed: what `migrate --to` copies as they are, so the chain stays the same. */
export interface SealedRows {
  /** At most `limit` entries after `afterSeq`, in seq order. */
  entries(afterSeq: number, limit: number): Promise<StoredEntry[]>;
  /** Every call's wrapped data key. */
  callKeys(): Promise<{ call_id: string; wrapped: Buffer }[]>;
  /** Every erased call, with the seq of its `call.erased`. */
  erasedCalls(): Promise<{ call_id: string; seq: number }[]>;
  /** Where the log starts, once retention removed its oldest entries (README "Retention"); undefined before. */
  logStart(): Promise<LogStart | undefined>;
}

