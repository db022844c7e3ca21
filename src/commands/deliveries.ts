import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { DELIVERY_STATUSES as STATUSES } from '../delivery/lifecycle.js';
import { notRedriven, redrive, skippedErased } from '../delivery/redrive.js';
import { formatSeconds } from '../rules/duration.js';
import { parseDateTime } from '../dates.js';
import type { DeliveryFilter, DeliveryRow } from '../project/queries.js';
import { hintEmptyResult, rulesSinkNames } from './filter-hints.js';
import { globalsOf, openExistingStore } from './globals.js';
import { writeUnlessInterrupted } from './interrupt.js';
import { printable, table } from './table.js';
import type { SinkStatus, StatusReport } from '../project/queries.js';
import { count } from '../count.js';
import { UNROUTED_COUNTED } from '../project/gauges.js';
import { sinksFromText, statusSinks, type SinksFrom } from './status-source.js';

/**
 * `--limit`: a whole number written in digits alone (no sign, space, point, exponent or `0x`), from
 * 1 to `Number.MAX_SAFE_INTEGER` (a larger one is no exact number here, and past 2^63 no integer to
 * the log: SQLite failed with "datatype mismatch"). Throws a one-line `UserError` naming `--limit`.
 */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UserError(`--limit: "${value}" is not a positive whole number`);
  if (!Number.isSafeInteger(n)) throw new UserError(`--limit: ${value} is over the largest limit, ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

const errorText = (e: Record<string, unknown> | null): string => (e ? `${String(e['kind'])} ${String(e['code'])}` : '');

type DeliveriesOptions = Omit<DeliveryFilter, 'ids'> & { json?: boolean };

/**
 * The human table of `deliveries`: a dead delivery shows why it is dead, an open one its last
 * error, and a succeeded one the error of the attempt before its success as `earlier: …` (the
 * `--json` shape keeps `last_error` as it is): bare, it read as a failure of a delivery that went through.
 */
function deliveriesTable(rows: DeliveryRow[]): string {
  return table(
    ['DELIVERY', 'SINK', 'RULE', 'EVENT', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
    rows.map((r) => [
      r.delivery_id,
      r.sink,
      r.rule_id,
      `${r.event_type} ${r.event_id}`,
      r.status,
      String(r.attempts),
      r.next_attempt_at ?? '-',
      r.status === 'dead' && r.dead_reason !== null
        ? `dead: ${r.dead_reason}`
        : r.last_error
          ? `${r.status === 'succeeded' ? 'earlier: ' : ''}${errorText(r.last_error)}: ${String(r.last_error['message'] ?? '')}`
          : '-',
    ]),
  );
}

/** A sink's state in `status`: paused (README "When a rule fails at run time") first, then refused credentials, enabled or why not; and stale work. */
function stateText(s: SinkStatus): string {
  const state = s.paused
    ? `PAUSED: ${s.paused_reason ?? ''}`
    : s.credentials_rejected
      ? 'CREDENTIALS REJECTED'
      : s.enabled
        ? 'enabled'
        : `disabled: ${s.disabled_reason ?? ''}`;
  return s.stale_since ? `${state}; STALE since ${s.stale_since}` : state;
}

/** `oldest pending 3m 12s (since ISO)` at `nowMs`: how long the oldest open delivery has waited (0s if its time is ahead of this clock). */
function oldestPendingText(at: string | null, nowMs: number): string {
  const since = at === null ? null : parseDateTime(at);
  if (at === null || since === null) return `oldest pending ${at ?? '-'}`;
  return `oldest pending ${formatSeconds(Math.max(0, Math.floor((nowMs - since) / 1000)))} (since ${at})`;
}

/**
 * `unrouted    2 entries, the oldest 3m 2s old (since ISO)` when the router has not routed
 * everything (README "Command line"), with what to look at once the oldest is a minute old;
 * no line when it keeps up.
 */
function unroutedText(unrouted: StatusReport['unrouted'], nowMs: number): string[] {
  if (unrouted.entries === 0 || unrouted.oldest_at === null) return [];
  const since = parseDateTime(unrouted.oldest_at);
  const seconds = since === null ? 0 : Math.max(0, Math.floor((nowMs - since) / 1000));
  const many = unrouted.entries >= UNROUTED_COUNTED ? `${UNROUTED_COUNTED} or more entries` : count(unrouted.entries, 'entry', 'entries');
  const why = seconds < 60 ? '' : ': nothing is being planned: serve is not running, has no rules loaded, or its router fails (see its error lines)';
  return [`unrouted    ${many}, the oldest ${formatSeconds(seconds)} old (since ${unrouted.oldest_at})${why}`];
}

/**
 * `status` for a person at `nowMs` (ms since the epoch, default now: the oldest pending
 * delivery's age is measured to it): the counts, where the sinks' states come from (when
 * `sinks_from` is given), a table of the sinks, then one line per paused sink saying how to resume it.
 */
export function statusText(report: StatusReport & { sinks_from?: SinksFrom }, nowMs: number = Date.now()): string {
  const types = printable(Object.entries(report.events.by_type).map(([t, n]) => `${t} ${n}`).join(', '));
  const d = report.deliveries;
  const lines = [
    `events      ${report.events.total}${types ? ` (${types})` : ''}`,
    `deliveries  pending ${d.pending}, retrying ${d.retrying}, succeeded ${d.succeeded}, dead ${d.dead}`,
    oldestPendingText(report.oldest_pending_at, nowMs),
    ...unroutedText(report.unrouted, nowMs),
    `last seq    ${report.last_seq}`,
    '',
    ...(report.sinks_from ? [sinksFromText(report.sinks_from)] : []),
    table(
      ['SINK', 'STATE', 'PENDING', 'RETRYING', 'SUCCEEDED', 'DEAD', 'LAST SUCCESS', 'LAST ERROR'],
      Object.entries(report.sinks).map(([name, s]) => [
        name,
        stateText(s),
        String(s.pending),
        String(s.retrying),
        String(s.succeeded),
        String(s.dead),
        s.last_success_at ?? '-',
        s.last_error ? `${errorText(s.last_error)} (${s.consecutive_failures} in a row)` : '-',
      ]),
    ),
  ];
  const paused = Object.entries(report.sinks).filter(([, s]) => s.paused);
  const notes = paused.map(([name, s]) => printable(`${name} is paused since ${s.paused_at ?? '-'}: fix its credentials and reload, or run \`husky-relay resume ${name}\``));
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

export function registerDeliveries(program: Command): void {
  program
    .command('status')
    .description('counts of events and deliveries by status and sink, oldest pending, sink health')
    .option('--json', 'one JSON object (documented in the README)')
    .action(async (opts: { json?: boolean }) => {
      const g = globalsOf(program);
      const store = await openExistingStore(g.dbPath, g.masterKeys);
      let report: StatusReport & { sinks_from: SinksFrom };
      try {
        // the sinks as the relay running on this log has them (its latest rules.loaded), else as the local rules file says
        const sinks = await statusSinks(store.log, g.rulesPath, g.env);
        report = { ...(await store.projections.status(sinks.view)), sinks_from: sinks.from };
      } finally {
        await store.close();
      }
      process.stdout.write(`${opts.json ? JSON.stringify(report) : statusText(report, Date.now())}\n`);
    });

  program
    .command('deliveries')
    .description('list deliveries, newest first')
    .option('--status <s>', `only this status (${STATUSES.join(', ')})`)
    .option('--sink <name>', 'only this sink')
    .option('--rule <id>', 'only deliveries of this rule')
    .option('--event <id>', 'only deliveries planned from this event id')
    .option('--call <id>', 'only deliveries of this call id (see also `husky-relay call`)')
    .option('--limit <n>', 'at most this many (default 50)', parseLimit)
    .option('--json', 'a JSON array (documented in the README)')
    .action(async (opts: DeliveriesOptions) => {
      const g = globalsOf(program);
      const store = await openExistingStore(g.dbPath, g.masterKeys);
      try {
        const filters = { status: opts.status, sink: opts.sink, rule: opts.rule, event: opts.event, call: opts.call };
        const rows = await store.projections.deliveries({ ...filters, limit: opts.limit ?? 50 });
        // the documented keys only: whether its call was erased is for re-drive's refusal (README "Erasure")
        const json = () => JSON.stringify(rows.map(({ call_erased: _erased, ...row }) => row));
        process.stdout.write(`${opts.json ? json() : deliveriesTable(rows)}\n`);
        if (rows.length === 0) await hintEmptyResult({ ...filters, listsDeliveries: true }, store, g);
      } finally {
        await store.close();
      }
    });

  program
    .command('retry')
    .description('re-drive deliveries (appends delivery.retried; a running serve picks them up)')
    .argument('[ids...]', 'delivery ids')
    .option('--dead', 'every dead delivery, but those erased with their call')
    .option('--sink <name>', 'with --dead: only this sink')
    .action(async (ids: string[], opts: { dead?: boolean; sink?: string }) => {
      if (ids.length === 0 && !opts.dead) throw new UserError('retry: name delivery ids, or --dead for every dead delivery');
      if (ids.length > 0 && opts.dead) throw new UserError('retry: either delivery ids or --dead, not both');
      if (opts.sink && !opts.dead) throw new UserError('retry: --sink goes with --dead');
      // a Ctrl-C while the log opens, or while the append waits for serve's write lock, says nothing was re-driven, not exit 130
      await writeUnlessInterrupted(globalsOf(program), 'retry', async (store) => {
        const knownSinks = () => rulesSinkNames(globalsOf(program));
        // a sink neither in the rules nor the log: exit 1 naming the known ones, as `resume` (README "Command line")
        const redriven = await redrive(store.projections, store.writer, opts.dead ? { dead: true, sink: opts.sink, knownSinks } : { ids });
        const { done, erased } = redriven;
        // by id, some re-driven and some not: which were, then (exit 1) each of the others and why
        const refused = opts.dead ? null : notRedriven(redriven);
        // dead letters an erasure closed have nothing left to send: skipped, and counted (README "Erasure")
        process.stdout.write(`re-driven: ${count(done.length, 'delivery', 'deliveries')}${refused ? printable(` (${done.join(', ')})`) : skippedErased(erased)}\n`);
        if (refused) throw new UserError(refused);
      });
    });
}
