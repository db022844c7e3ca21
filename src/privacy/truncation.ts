import type { TruncationSnapshot } from '../log/types.js';

/**
 * Truncation (README "Retention"): under `serve --retention`, the entries retention has finished
 * with are removed from the front of the log, so that the database file stops growing once the
 * window is full (SPEC §12). Kafka's time-based retention does the same to a topic's oldest
 * segments, advancing its log start offset; here the log starts at `before_seq` and a
 * `log.truncated` entry records where, the hash the chain goes on from, and the projection rows
 * the removed entries made (see `TruncationSnapshot`), so that `replay --rebuild` from the
 * entries kept gives the live tables exactly.
 *
 * The first seq kept, K, is the largest such that every entry before K:
 * - was appended more than two windows ago: retention erases a call's personal data one window
 *   after its last event, and its facts go one window later, so that a HuskyVoice retry of an
 *   erased event is still known as a duplicate (and not routed as a new one) for a whole window
 *   after its erasure,
 * - is about a call that is erased, or that has events from K on too (calls overlap: a cut
 *   through one keeps its row, as counted so far, in the snapshot; its later entries stay until
 *   a later truncation), and no plan from K on is of an event before it,
 * - has been routed (every consumer's checkpoint), is no open delivery's plan, and nothing the
 *   router has yet to read looks back at it (a dead letter's plan, the pause a resume ends).
 * At most `MAX_ENTRIES` entries go per truncation, so a first one over a large log never holds
 * the writer long; a sweep truncates until nothing more can go.
 */

/** How many retention windows an entry stays in the log: its payload goes after one, its facts after two. */
export const FACTS_WINDOWS = 2;

/** Entries removed by one truncation at most (one transaction). */
export const MAX_ENTRIES = 20_000;

/** What an engine answers for choosing where the log can start (each read bounded by the removable prefix). */
export interface TruncationReads {
  /** The first seq the log has now (1 before any truncation). */
  logStart(): Promise<number>;
  /**
   * The lowest seq that stays whatever calls it concerns: the first entry appended at or after
   * `since` (ISO) at or after `from`, one past the lowest consumer checkpoint, the plan of the
   * oldest open delivery, what an operator event not routed yet looks back at, or one past the
   * last entry.
   */
  firstKept(from: number, since: string): Promise<number>;
  /**
   * The lowest seq in `[from, before)` that must stay with the entries from `before` on: the
   * first entry of a call not erased whose events all came before `before` (a call goes whole
   * only once erased), or an event whose plan comes after `before`; null if none. A call with
   * events on both sides may be cut: its row is kept in the snapshot.
   */
  firstHeldBack(from: number, before: number): Promise<number | null>;
  /** Whether every entry in `[from, before)` is a `log.truncated` (removing only those would only churn). */
  onlyTruncations(from: number, before: number): Promise<boolean>;
}

/**
 * The first seq the log can start at now, or null when no entry can be removed yet. `windowMs`:
 * the retention window (ms); `now`: the relay's clock.
 */
export async function chooseLogStart(reads: TruncationReads, now: Date, windowMs: number): Promise<number | null> {
  const start = await reads.logStart();
  const since = new Date(now.getTime() - FACTS_WINDOWS * windowMs).toISOString();
  let before = Math.min(await reads.firstKept(start, since), start + MAX_ENTRIES);
  // each pass moves before down: it ends, at the latest at start
  for (let held = await reads.firstHeldBack(start, before); held !== null && before > start; held = await reads.firstHeldBack(start, before)) before = held;
  if (before <= start || (await reads.onlyTruncations(start, before))) return null;
  return before;
}

/** The snapshot of a truncation with nothing in it (tests, and a log without projections). */
export function emptySnapshot(): TruncationSnapshot {
  return { events_by_type: [], sink_health: [], sink_state: [], key_state: [], calls: [] };
}

/** What one truncation removed: null when nothing could be. */
export interface Truncation {
  /** The first seq kept. */
  before_seq: number;
  /** The `log.truncated` entry's seq. */
  seq: number;
  entries: number;
  calls: number;
}
