import { storableText } from '../log/text.js';
import type { Entry } from '../log/types.js';

/**
 * A sink's operator state (README "When a rule fails at run time") as `p_sink_state` keeps it, in column order: paused for
 * its credentials (from `sink.paused` until `sink.resumed`), and stale (from `pending.stale`
 * until `pending.cleared`). Null columns mean "not so".
 */
export type SinkStateRow = [
  sink: string,
  /** `at` of the `sink.paused` in force. */
  paused_at: string | null,
  paused_reason: string | null,
  paused_code: string | null,
  /** `at` of the `pending.stale` in force. */
  stale_at: string | null,
  /** Its `oldest_pending_at`. */
  stale_oldest_at: string | null,
];

export const SINK_STATE_COLUMNS = 'sink, paused_at, paused_reason, paused_code, stale_at, stale_oldest_at';

/**
 * The row after one operator entry about a sink, or undefined when the entry changes nothing
 * (a second `sink.paused` while paused keeps the first; a `sink.resumed` of a sink that is not
 * paused is a no-op; the same for stale and cleared). Pure: live projection and rebuild alike.
 */
export function nextSinkState(row: SinkStateRow | undefined, entry: Entry): SinkStateRow | undefined {
  const current: SinkStateRow = row ?? [sinkOf(entry), null, null, null, null, null];
  const [sink, pausedAt, reason, code, staleAt, oldest] = current;
  switch (entry.type) {
    case 'sink.paused':
      return pausedAt !== null ? undefined : [sink, entry.at, storableText(entry.data.reason), entry.data.code, staleAt, oldest];
    case 'sink.resumed':
      return pausedAt === null ? undefined : [sink, null, null, null, staleAt, oldest];
    case 'pending.stale':
      return staleAt !== null ? undefined : [sink, pausedAt, reason, code, entry.at, entry.data.oldest_pending_at];
    case 'pending.cleared':
      return staleAt === null ? undefined : [sink, pausedAt, reason, code, null, null];
    default:
      return undefined;
  }
}

/** The sink an operator entry is about ('' for any other entry). */
function sinkOf(entry: Entry): string {
  const data = entry.data as { sink?: unknown };
  return typeof data.sink === 'string' ? data.sink : '';
}
