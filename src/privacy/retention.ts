import type { Logger } from 'pino';
import { UserError } from '../errors.js';
import type { PrivacyLog } from '../log/seam.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import { parseDuration } from '../rules/duration.js';

/**
 * Retention (README "Personal data"): `serve --retention DURATION` erases, with reason
 * `retention`, every call whose last event was appended longer ago than DURATION, at least
 * hourly. The erased payloads' pages are reused by new ones, so under a steady stream the
 * payloads stop adding to the file once the window is full.
 */

/** How often a sweep runs at most apart. (Default: 1 h) */
const RETENTION_SWEEP_MS = 3_600_000;
/** Calls erased per transaction of a sweep, so a first sweep over a large log never holds the writer long. */
const BATCH = 200;

/**
 * `90d`, `12h`, `30m`, `2s` as milliseconds: a duration as the rules file writes one, or in
 * days (`parseDuration`), of at least a second and at most 36500d. Throws `UserError` naming
 * `where` for anything else.
 */
export function parseRetention(text: string, where = '--retention'): number {
  const ms = parseDuration(text.trim(), { days: true }) ?? 0;
  if (!(ms >= 1000)) throw new UserError(`${where}: "${text}" is not a duration like 90d, 12h, 30m or 2s`);
  if (ms > MAX_RETENTION_MS) throw new UserError(`${where}: "${text}" is longer than retention can keep (at most 36500d, a hundred years); leave retention off to keep everything`);
  return ms;
}

/** The longest window (100 years): twice it from now must still be a date (`Date` holds ±273,790 years; facts stay two windows). */
const MAX_RETENTION_MS = 36_500 * 86_400_000;

/**
 * Erases every call not erased yet whose last event is older than `windowMs` at `now`.
 * Returns how many calls it erased.
 */
export async function sweepRetention(privacy: PrivacyLog, now: Date, windowMs: number): Promise<number> {
  const before = new Date(now.getTime() - windowMs).toISOString();
  let erased = 0;
  for (;;) {
    const calls = await privacy.callsLastSeenBefore(before, BATCH);
    if (calls.length === 0) return erased;
    const result = await privacy.erase({ callIds: calls, reason: 'retention', by: 'retention', downstream: false });
    erased += result.calls.filter((c) => c.seq !== null).length;
  }
}

/**
 * A retention sweep as `serve` runs it: `sweepRetention`, then the front of the log removed as
 * far as retention has finished with it (`PrivacyLog.truncate`, `privacy/truncation.ts`), a
 * transaction at a time. Returns how many calls it erased and how many entries it removed.
 */
export async function sweepAndTruncate(privacy: PrivacyLog, now: Date, windowMs: number): Promise<{ erased: number; removed: number }> {
  const erased = await sweepRetention(privacy, now, windowMs);
  let removed = 0;
  for (let truncation = await privacy.truncate(now, windowMs); truncation; truncation = await privacy.truncate(now, windowMs)) removed += truncation.entries;
  return { erased, removed };
}

/** A running retention: `stop()` ends it (a sweep in flight completes). */
export interface Retention {
  stop(): Promise<void>;
  /** Runs a sweep now (tests). */
  sweep(): Promise<number>;
}

/**
 * Sweeps every `min(windowMs, RETENTION_SWEEP_MS)` (`everyMs`), the first time that long after
 * start, not at once; a failed sweep is logged and tried again at the next tick. `now` is the
 * relay's clock (tests inject one). A damaged entry (`DamagedEntryError`) is named in the failed sweep's line.
 */
export function startRetention(o: { privacy: PrivacyLog; windowMs: number; now: () => Date; logger: Logger; everyMs?: number }): Retention {
  let running: Promise<number> = Promise.resolve(0);
  const sweep = (): Promise<number> =>
    (running = running.then(async () => {
      try {
        const { erased, removed } = await sweepAndTruncate(o.privacy, o.now(), o.windowMs);
        if (erased > 0 || removed > 0) o.logger.info({ erased, removed, retention_ms: o.windowMs }, 'retention: calls erased, and entries it has finished with removed');
        return erased;
      } catch (error) {
        // a damaged entry (not JSON) is named, with what to do, in the line itself
        const seqs = error instanceof DamagedEntryError ? { seqs: error.seqs } : {};
        o.logger.error({ err: (error as Error).message, ...seqs }, `retention: the sweep failed; it runs again at the next tick${error instanceof DamagedEntryError ? `: ${error.message}` : ''}`);
        return 0;
      }
    }));
  // not at start: the events a sender held back while the relay was down land first, so that a
  // call in progress is not taken for a quiet one only because nothing could be received
  const timer = setInterval(() => void sweep(), o.everyMs ?? Math.min(o.windowMs, RETENTION_SWEEP_MS));
  timer.unref();
  return {
    sweep,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
