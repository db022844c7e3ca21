import { shapeProblem } from '../log/entry-shape.js';
import type { LogReader } from '../log/seam.js';

/**
 * Where the log starts and ends, for what `call`, the filter hints and the console say about an
 * id the log does not hold (README "Filters" and "Retention").
 */
export interface LogBounds {
  /** The first seq (above 1 once retention removed the entries before it); undefined for an empty log. */
  start: number | undefined;
  /** The last seq; 0 for an empty log. */
  end: number;
  /**
   * Whether retention may have removed entries of calls (their events, plans, attempts), so that
   * a call or call event not in the log may have been among them. False when nothing was
   * removed, or when the `log.truncated` entries still in the log account for every seq before
   * `start` and none removed a call's entry (retention first removes what serve wrote at start,
   * `rules.loaded`, while the calls around it are kept).
   */
  callsRemoved: boolean;
}

const PAGE = 1000;

/** The log's bounds (see `LogBounds`): two reads, and the `log.truncated` entries when the log does not start at 1. */
export async function logBoundsOf(log: Pick<LogReader, 'read' | 'lastSeq'>): Promise<LogBounds> {
  const start = (await log.read(0, { limit: 1, facts: true }))[0]?.seq;
  const end = await log.lastSeq();
  if (start === undefined || start <= 1) return { start, end, callsRemoved: false };
  let accounted = 0;
  for (let after = 0; ; ) {
    const page = await log.read(after, { types: ['log.truncated'], facts: true, limit: PAGE });
    for (const e of page) {
      if (e.type !== 'log.truncated') continue;
      // one of another shape (a hand edit) says nothing sure of what it removed: maybe calls
      if (shapeProblem(e.type, e.data) !== null || e.data.calls > 0) return { start, end, callsRemoved: true };
      accounted += e.data.entries;
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.seq;
  }
  // a later truncation can remove an earlier one's entry, and with it what that one removed: unknown, so maybe
  return { start, end, callsRemoved: accounted < start - 1 };
}

/**
 * What `call` and the hints add to "not in the log" when retention may have removed the calls
 * (`callsRemoved`) before the log's start: ` (the log starts at entry N: retention removed the
 * WHAT before it)`; '' otherwise (a log that starts at 1, is empty, or lost no call's entry).
 */
export function removedBefore(bounds: LogBounds | undefined, what: 'calls' | 'events'): string {
  return bounds?.callsRemoved && bounds.start !== undefined && bounds.start > 1
    ? ` (the log starts at entry ${bounds.start}: retention removed the ${what} before it)`
    : '';
}

/** The seq an alert's event id `op-SEQ` names (as the router writes it: no leading zero), or null. */
export function operatorSeq(id: string): number | null {
  const op = /^op-([1-9]\d*)$/.exec(id);
  return op && Number.isSafeInteger(Number(op[1])) ? Number(op[1]) : null;
}

/**
 * Why the log's entry `seq` is no operator event, as `: REASON` after "no event "op-SEQ" in the
 * log": past the log's end, removed by retention (before `bounds.start`), or an entry of another type.
 */
export function notOperatorEvent(seq: number, bounds: LogBounds): string {
  if (seq > bounds.end) return bounds.end === 0 ? ': the log is empty' : `: the log ends at seq ${bounds.end}`;
  if (bounds.start !== undefined && seq < bounds.start) return `: entry ${seq} was removed by retention with its alerts (the log starts at entry ${bounds.start})`;
  return `: entry ${seq} is not an operator event (delivery.dead, sink.*, pending.*), so no alert has that id`;
}
