import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { UserError, WriteInterruptedError } from '../errors.js';
import { acquireServeLock, DatabaseHeldError, type ServeLock } from '../log/sqlite/serve-lock.js';
import type { DeliveryPlanned } from '../log/types.js';
import { backfill, type BackfillOptions, type BackfillResult } from '../route/backfill.js';
import { newGeneration } from '../route/delivery-id.js';
import { preview } from './preview.js';
import { progressBar } from './progress.js';
import { rebuildProjections } from '../project/rebuild/rebuild.js';
import { verifyProjections, type Difference } from '../project/rebuild/verify.js';
import { loadRules } from '../rules/load-rules.js';
import { formatProblem } from '../rules/problem.js';
import type { LoadedRules } from '../rules/types.js';
import { dateOption } from './date-option.js';
import { globalsOf, type Globals } from './globals.js';
import { displayWidth, padColumns, printable, table } from './table.js';
import { count } from '../count.js';
import { hintEmptyResult } from './filter-hints.js';
import { openInterruptible } from './interrupt.js';
import { backfillHalted, backfillNotStarted, backfillStopped } from './replay-stop.js';

interface ReplayOptions {
  rebuild?: boolean;
  verify?: boolean;
  since?: string;
  until?: string;
  type?: string;
  rule?: string;
  dryRun?: boolean;
  force?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const n = (value: number) => value.toLocaleString('en-US');

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('rebuild derived state from the log, or run the current rules over past events')
    .option('--rebuild', 'rebuild every projection from the log (serve must be stopped)')
    .option('--verify', 'rebuild into a scratch database and compare with the live projections; exit 1 if they differ')
    .option('--since <iso>', 'only events received at or after this time (no zone means UTC)', dateOption('--since'))
    .option('--until <iso>', 'only events received before this time (no zone means UTC)', dateOption('--until'))
    .option('--type <type>', 'only events of this type (a glob: "call.*")')
    .option('--rule <id>', 'only this rule')
    .option('--dry-run', 'print what would be planned and a count per rule; append nothing')
    .option('--force', 'plan again under a new generation id, so deliveries are made again')
    .action(async (opts: ReplayOptions) => {
      const g = globalsOf(program);
      const modes = [opts.rebuild && '--rebuild', opts.verify && '--verify'].filter(Boolean);
      const backfillFlags = (['since', 'until', 'type', 'rule', 'dryRun', 'force'] as const).filter((k) => opts[k] !== undefined);
      if (modes.length > 1) throw new UserError('replay: --rebuild and --verify go alone, one at a time');
      if (modes.length === 1 && backfillFlags.length > 0) {
        throw new UserError(`replay ${modes[0]} takes no other options (--since, --until, --type, --rule, --dry-run, --force are for backfill)`);
      }
      if (opts.rebuild || opts.verify) foldingHeap();
      if (opts.rebuild) return rebuild(g);
      if (opts.verify) return verify(g);
      return replayRules(g, opts);
    });
}

/**
 * A rebuild keeps thousands of rows in memory for a while (see `rebuild/fold.ts`), so most of
 * what it allocates outlives a young collection and piles up as garbage in the old space; V8
 * then lets the heap grow to about 4 times what is live before it collects, ~100 MB at 1M
 * entries. Growing to twice what is live instead (a V8 flag this one-shot process sets for itself; it applies
 * from the next full collection) holds the peak RSS ~20-40 MB lower for a few more collections.
 */
function foldingHeap(): void {
  setFlagsFromString('--heap-growing-percent=100');
}

const REBUILD_INTERRUPTED = 'replay --rebuild: interrupted; the projections are as they were';
const VERIFY_INTERRUPTED = 'replay --verify: interrupted before the comparison; nothing was changed (verify only reads)';

async function rebuild(g: Globals): Promise<void> {
  const { stop, store } = await openInterruptible(g);
  // held for the whole rebuild, so a serve started meanwhile refuses instead of racing the swap
  let lock: ServeLock;
  try {
    lock = acquireServeLock(g.dbPath, 'replay --rebuild');
  } catch (error) {
    stop.done();
    await store.close();
    if (!(error instanceof DatabaseHeldError)) throw error;
    throw new UserError(
      `replay --rebuild: ${error.holder.description} holds ${g.dbPath}; stop it first. ` +
        '(replay without --rebuild, and replay --verify, work while serve runs)',
      'database_held',
    );
  }
  const bar = progressBar('rebuilding');
  try {
    if (await stop.requested()) throw new UserError(REBUILD_INTERRUPTED, 'interrupted');
    const result = await store.rebuild({ onProgress: (p) => bar.update(p), signal: stop.signal });
    bar.done();
    const rate = result.seconds > 0 ? Math.round(result.entries / result.seconds) : result.entries;
    for (const name of result.repaired) out(`repaired: ${name} had a damaged page; it was made again from the log and the file compacted`);
    out(`rebuilt from ${count(result.entries, 'entry', 'entries', true)} (through seq ${result.last_seq}) in ${result.seconds.toFixed(1)} s, ${count(rate, 'entry', 'entries', true)}/s`);
    out(table(['TABLE', 'ROWS'], Object.entries(result.rows).map(([name, rows]) => [name, String(rows)])));
  } catch (error) {
    if (stop.signal.aborted) throw new UserError(REBUILD_INTERRUPTED, 'interrupted');
    throw error;
  } finally {
    bar.stop();
    stop.done();
    lock.release();
    await store.close();
  }
}

async function verify(g: Globals): Promise<void> {
  const { stop, store } = await openInterruptible(g);
  const bar = progressBar('verifying');
  try {
    if (await stop.requested()) throw new UserError(VERIFY_INTERRUPTED, 'interrupted');
    const result = await store.verify({ onProgress: (p) => bar.update(p), signal: stop.signal });
    bar.done();
    if (result.identical) {
      out(`the projections match the log (${count(result.entries, 'entry', 'entries', true)}, through seq ${result.last_seq}; ${result.tables.join(', ')})`);
      return;
    }
    for (const d of result.differences) out(printable(describe(d)));
    if (result.count > result.differences.length) out(`… and more: ${count(result.count, 'row differs', 'rows differ', true)} in all`);
    out(`${count(result.count, 'projection row differs', 'projection rows differ', true)} from a rebuild of the log (through seq ${result.last_seq})`);
    out('repair: stop serve, then run `husky-relay replay --rebuild`');
    process.exitCode = 1;
  } catch (error) {
    if (stop.signal.aborted) throw new UserError(VERIFY_INTERRUPTED, 'interrupted');
    throw error;
  } finally {
    bar.stop();
    stop.done();
    await store.close();
  }
}

function describe(d: Difference): string {
  const key = Object.entries(d.key).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const show = (v: unknown) => JSON.stringify(v);
  switch (d.kind) {
    case 'differs':
      return `${d.table} ${key}: ${d.columns.map((c) => `${c.column} live ${show(c.live)}, rebuilt ${show(c.rebuilt)}`).join('; ')}`;
    case 'only_live':
      return `${d.table} ${key}: only in the live table ${show(d.row)}`;
    case 'only_rebuilt':
      return `${d.table} ${key}: missing from the live table ${show(d.row)}`;
  }
}

async function currentRules(g: Globals, onlyRule: string | undefined): Promise<LoadedRules> {
  if (g.rulesWarning) process.stderr.write(`husky-relay: ${g.rulesWarning}\n`);
  const loaded = await loadRules(g.rulesPath, g.env);
  if (!loaded.ok) {
    const problems = loaded.problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw new UserError(`replay: the rules file does not load:\n${problems.join('\n')}`);
  }
  const ids = loaded.rules.rules.map((r) => r.id);
  if (onlyRule !== undefined && !ids.includes(onlyRule)) {
    throw new UserError(`--rule: no rule "${onlyRule}" in ${g.rulesPath} (its rules: ${ids.join(', ') || 'none'})`);
  }
  return loaded.rules;
}

async function replayRules(g: Globals, opts: ReplayOptions): Promise<void> {
  if (opts.type === '') throw new UserError('--type: give an event type, e.g. call.completed or "call.*"');
  const rules = await currentRules(g, opts.rule);
  // Ctrl-C taken before the open: one while it waits (a lock, a migration) ends with a line, not exit 130
  const { stop, store } = await openInterruptible(g);
  const dryRun = opts.dryRun === true;
  const ruleWidth = Math.max(4, ...rules.rules.map((r) => displayWidth(printable(r.id))));
  const sinkWidth = Math.max(4, ...Object.keys(rules.sinks).map((s) => displayWidth(printable(s))));
  const line = (p: DeliveryPlanned) => {
    const [rule, sink, event, request] = [p.rule_id, p.sink, `${p.event_type} ${p.event_id}`, preview(p.request)].map(printable);
    return `${padColumns(rule!, ruleWidth)}  ${padColumns(sink!, sinkWidth)}  ${padColumns(event!, 40)}  ${request!}`;
  };
  // the lines of a dry run go to stdout as they come: no bar over them on the same terminal
  const bar = progressBar(dryRun ? 'dry run' : 'replaying', process.stderr.isTTY === true && !(dryRun && process.stdout.isTTY));
  const options: BackfillOptions = {
    signal: stop.signal,
    since: opts.since,
    until: opts.until,
    type: opts.type,
    rule: opts.rule,
    dryRun,
    generation: opts.force ? newGeneration() : undefined,
    onProgress: (p) => bar.update(p),
    onPlan: dryRun ? (p) => out(line(p)) : undefined,
  };
  let result: BackfillResult;
  try {
    try {
      if (await stop.requested()) throw backfillNotStarted(dryRun, options.generation !== undefined);
      if (dryRun) out(`${'RULE'.padEnd(ruleWidth)}  ${'SINK'.padEnd(sinkWidth)}  ${'EVENT'.padEnd(40)}  REQUEST`);
      result = await backfill({ reader: store.log, writer: store.writer }, rules, options);
      if (!result.stopped && !result.halted) bar.done();
    } catch (error) {
      // its first append gave up at Ctrl-C (it waited for serve's write lock): nothing was planned
      if (error instanceof WriteInterruptedError) throw backfillNotStarted(dryRun, options.generation !== undefined, error.when);
      throw error;
    } finally {
      bar.stop();
    }
    if (result.halted) throw backfillHalted(result, options.generation);
    if (result.stopped) throw backfillStopped(result.stopped, result, dryRun, options.generation);
    // the work is done: a signal now no longer cuts the result short (the signals are taken until it is said)
    summarize(result, dryRun, options.generation);
    // an unknown type reads nothing: on a terminal, say which types there are (README "Filters")
    if (result.events === 0 && opts.type !== undefined) await hintEmptyResult({ eventType: opts.type }, store, g);
  } finally {
    stop.done();
    await store.close();
  }
}

function summarize(result: BackfillResult, dryRun: boolean, generation: string | undefined): void {
  const rows = Object.entries(result.by_rule);
  const failed = rows.some(([, c]) => c.failed > 0);
  if (dryRun) out('');
  out(
    table(
      ['RULE', dryRun ? 'WOULD PLAN' : 'PLANNED', 'ALREADY PLANNED', ...(failed ? ['RENDER FAILED'] : [])],
      rows.map(([id, c]) => [id, String(c.planned), String(c.existing), ...(failed ? [String(c.failed)] : [])]),
    ),
  );
  const skipped = result.erased > 0 ? `, ${n(result.erased)} of them erased and skipped` : '';
  const events = `${count(result.events, 'event', 'events', true)} (through seq ${result.through_seq}${skipped})`;
  const what = count(result.planned, 'delivery', 'deliveries', true);
  const gen = generation ? ` under generation ${generation}` : '';
  if (dryRun) out(`dry run: ${what} would be planned${gen} for ${events}; nothing was appended`);
  else out(`planned ${what}${gen} for ${events}; serve's dispatcher delivers them (start \`husky-relay serve\` if it is not running)`);
}
