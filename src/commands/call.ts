import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { CallMoment, CallStory, CallView } from '../project/call-story.js';
import { logBoundsOf, notOperatorEvent, operatorSeq, removedBefore, type LogBounds } from './log-bounds.js';
import { globalsOf, openExistingStore } from './globals.js';
import { cellText, printable, shown, table } from './table.js';
import { count } from '../count.js';

/**
 * `husky-relay call CALL_ID [--json]` (README "What happened to this call?"): what happened to one call. `--json` prints the
 * story object of §9; the human output a summary, the call's deliveries as they stand, and
 * every entry about the call in log order (events, plans, attempts, dead letters, re-drives).
 */
export function registerCall(program: Command): void {
  program
    .command('call')
    .description("one call's whole story: its events, the deliveries they planned, every attempt, dead letters and re-drives")
    .argument('<call_id>', 'the call id (data.call_id of its events)')
    .option('--json', 'one JSON object (documented in the README)')
    .action(async (callId: string, opts: { json?: boolean }) => {
      const store = await openExistingStore(globalsOf(program).dbPath, globalsOf(program).masterKeys);
      let view: CallView | undefined;
      let bounds: LogBounds | undefined;
      try {
        view = await store.projections.call(callId);
        if (!view) bounds = await logBoundsOf(store.log);
      } finally {
        await store.close();
      }
      if (!view) throw new UserError(`no call "${printable(callId)}" in the log${callNotFound(callId, bounds!)}`, 'unknown_call');
      process.stdout.write(`${opts.json ? JSON.stringify(view.story) : callText(view)}\n`);
    });
}

/**
 * Why a call id is not in the log, as `call` and the console's call page say it after "no call
 * "ID" in the log": an alert's event id `op-SEQ` pasted for a call id is told apart (past the
 * log's end, say); for an old call, that retention may have removed it (only when it removed
 * calls' entries); else ''.
 */
export function callNotFound(callId: string, bounds: LogBounds): string {
  const seq = operatorSeq(callId);
  if (seq !== null && (seq > bounds.end || (bounds.start !== undefined && seq < bounds.start))) return notOperatorEvent(seq, bounds);
  return removedBefore(bounds, 'calls');
}

/** `call_A  org org_1`, then `5 events, 3 deliveries: 1 succeeded, 1 dead, 1 pending`. */
function summary(story: CallStory): string[] {
  const byStatus = new Map<string, number>();
  for (const d of story.deliveries) byStatus.set(d.status, (byStatus.get(d.status) ?? 0) + 1);
  const statuses = [...byStatus].map(([status, n]) => `${n} ${status}`).join(', ');
  const deliveries = count(story.deliveries.length, 'delivery', 'deliveries');
  return [
    printable(`call ${story.call_id}  org ${story.org_id ?? '-'}${story.erased ? '  [erased]' : ''}`),
    `${count(story.events.length, 'event', 'events')}, ${deliveries}${statuses ? `: ${statuses}` : ''}`,
  ];
}

/** `channel=C1 ts=1700.1`: a sink's answer on one line. */
function resultText(result: Record<string, unknown> | null): string {
  if (!result) return '-';
  return Object.entries(result)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** The WHAT and DETAIL columns of a moment of the timeline: what `call` prints and the console's call page shows; a field its entry's data lacks reads `-` (`shown`). */
export function describeMoment(m: CallMoment): [what: string, detail: string] {
  switch (m.kind) {
    case 'event':
      return ['event', shown`${m.event_type} ${m.event_id} (created ${m.created_at})`];
    case 'planned':
      return ['planned', shown`rule ${m.rule_id}, sink ${m.sink}${m.order_key == null ? '' : shown`, order key ${m.order_key}`}`];
    case 'attempt': {
      const error = m.error ? shown`  ${m.error.kind} ${m.error.code}: ${m.error.message}` : '';
      const next = m.retry_at ? shown`; next attempt at ${m.retry_at}` : m.paused ? `; sink paused: waits, not counted, until resume, a new token or a probe` : '';
      return [shown`attempt ${m.attempt} ${m.outcome}`, shown`${m.duration_ms} ms${error}${next}`];
    }
    case 'dead':
      return ['dead', cellText(m.reason)];
    case 'redriven':
      return ['re-driven', m.by ? shown`by ${m.by}: ${m.reason}` : cellText(m.reason)];
    case 'erased':
      return ['erased', shown`by ${m.by}: ${m.reason}${m.downstream ? '; deletions planned at the sinks that received it' : ''}`];
  }
}

/** The human output: summary, deliveries as they stand, and the timeline; every cell made printable. */
export function callText({ story, timeline }: CallView): string {
  const deliveries = table(
    ['DELIVERY', 'EVENT', 'RULE', 'SINK', 'ORDER KEY', 'STATUS', 'ATTEMPTS', 'RESULT', 'DEAD REASON'],
    story.deliveries.map((d) => [
      d.delivery_id,
      d.event_id,
      d.rule_id,
      d.sink,
      d.order_key ?? '-',
      d.status,
      String(d.attempts.length),
      resultText(d.result),
      d.dead_reason ?? '-',
    ]),
  );
  const moments = table(
    ['SEQ', 'AT', 'DELIVERY', 'WHAT', 'DETAIL'],
    timeline.map((m) => [String(m.seq), m.at, 'delivery_id' in m ? m.delivery_id : '-', ...describeMoment(m)]),
  );
  return [...summary(story), '', ...(story.deliveries.length > 0 ? [deliveries, ''] : []), moments].join('\n');
}
