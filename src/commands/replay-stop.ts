import { UserError } from '../errors.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import type { BackfillResult, BackfillStop } from '../route/backfill.js';
import { count } from '../count.js';

/**
 * The one line that ends a backfill Ctrl-C stopped (`BackfillResult.stopped`), as a `UserError`
 * (exit 1): where it stopped, what stays planned, and how to go on. Without `--force` the same
 * command goes on where it stopped (delivery ids are deterministic: what is planned is not planned
 * again). With `--force` (`generation`), another run plans under a new generation, so what this one
 * planned would be delivered twice: it names the `--since` that reads only the events not read,
 * when one does (`since_next_is_exact`), else says that none does. A dry run appended nothing.
 */
export function backfillStopped(stop: BackfillStop, result: BackfillResult, dryRun: boolean, generation: string | undefined): UserError {
  const where = `interrupted after seq ${stop.after_seq} of ${result.through_seq}`;
  if (dryRun) return new UserError(`replay --dry-run: ${where}; nothing was appended`, 'interrupted');
  const planned = `${count(result.planned, 'delivery', 'deliveries', true)} planned so far`;
  if (generation === undefined) {
    return new UserError(
      `replay: ${where}; the ${planned} stay planned (serve's dispatcher delivers them); run the same command again to plan the rest: it plans only what is not planned yet`,
      'interrupted',
    );
  }
  const again = `the ${planned} under generation ${generation} stay planned (serve's dispatcher delivers them); another --force run plans every event again under a new generation and would deliver those twice`;
  const rest = stop.since_next_is_exact
    ? `to plan only the rest, run it again with --since ${stop.next.at} (when seq ${stop.next.seq}, the first event not replayed, was received)`
    : `no --since leaves out exactly the events already replayed (some were received at or after ${stop.next.at}, when seq ${stop.next.seq}, the first not replayed, was)`;
  return new UserError(`replay --force: ${where}; ${again}; ${rest}`, 'interrupted');
}

/**
 * The line that ends a backfill Ctrl-C stopped before it appended anything, as a `UserError`
 * (exit 1): nothing was planned (a dry run: appended), no generation was begun (`force`), so the
 * same command, run again, starts from the beginning. `when` says when: before it read an event
 * (while the log opened; the default), or `WriteInterruptedError.when` (its first append waited
 * for another process's write lock).
 */
export function backfillNotStarted(dryRun: boolean, force: boolean, when = 'before it read any event'): UserError {
  const command = dryRun ? 'replay --dry-run' : force ? 'replay --force' : 'replay';
  const nothing = dryRun ? 'nothing was appended' : 'nothing was planned';
  return new UserError(`${command}: interrupted ${when}; ${nothing}: run the same command again to start over`, 'interrupted');
}

/**
 * The error to end a backfill an error stopped after it appended plans (`BackfillResult.halted`;
 * never a dry run): the error's own line (a damaged entry's, README "Faults"), then a line saying
 * what stays planned: `husky-relay: replay: stopped at entry 1100; the 1,000 deliveries planned
 * for the events through seq 1000 stay planned (…)`, with the generation under `--force`. A
 * `DamagedEntryError` stays one (main names the log in it); another `UserError` keeps its code;
 * anything else (ours: exit 2) is given back as it is, that line written to stderr before it.
 * When the batches appended held no new plan (all planned by an earlier run), the error alone.
 */
export function backfillHalted(result: BackfillResult, generation: string | undefined): unknown {
  const { error, after_seq } = result.halted!;
  // batches of plans already in the log (a second run): nothing was appended, the damage is all there is to say
  if (result.planned === 0) return error;
  const at = error instanceof DamagedEntryError ? `at entry ${error.seq}` : 'there';
  const gen = generation === undefined ? '' : ` under generation ${generation}`;
  const planned = `the ${count(result.planned, 'delivery', 'deliveries', true)} planned${gen} for the events through seq ${after_seq} stay planned (serve's dispatcher delivers them)`;
  const next =
    generation === undefined
      ? 'run the same command again once the log is repaired: it plans only what is not planned yet'
      : 'another --force run plans every event again under a new generation and would deliver those twice';
  const line = `husky-relay: replay${generation === undefined ? '' : ' --force'}: stopped ${at}; ${planned}; ${next}`;
  if (error instanceof DamagedEntryError) return error.followedBy(line);
  if (error instanceof UserError) return new UserError(`${error.message}\n${line}`, error.code);
  process.stderr.write(`${line}\n`);
  return error;
}
