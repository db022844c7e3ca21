import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Entry } from '../log/types.js';
import { dateOption } from './date-option.js';
import { hintEmptyResult } from './filter-hints.js';
import { globalsOf, openExistingStore } from './globals.js';
import { cellText, shown, table } from './table.js';
import { UserError } from '../errors.js';
import { ERASED, isErased } from '../privacy/payload.js';
import type { Store } from '../log/store.js';
import { count } from '../count.js';

interface LogOptions {
  since?: string;
  type?: string[];
  call?: string;
  event?: string;
  follow?: boolean;
  json?: boolean;
  verify?: boolean;
}

/**
 * `log --verify` (README "Personal data"): recomputes the hash chain from the first entry to
 * the last. Prints `chain ok: N entries, head HASH` (and, once retention removed the oldest
 * entries, a second line naming where the log starts and the hash it is anchored at); throws `UserError` (exit 1) naming the
 * first entry that does not match (a damaged one: its data is not JSON). First, on SQLite, the
 * entries table's pages and indexes pass `PRAGMA integrity_check` (else exit 1 naming the first
 * findings); `where`: the log as messages name it.
 */
async function verifyLog(store: Store, where: string): Promise<void> {
  const pages = await store.privacy.verifyPages();
  if (pages.length > 0) {
    throw new UserError(`log --verify: ${where} is damaged: the log's pages do not pass SQLite's integrity check (${pages.slice(0, 3).join('; ')}); stop serve and restore the latest backup (README: Backups)`);
  }
  const verdict = await store.privacy.verifyChain();
  if (!verdict.ok) throw new UserError(`log --verify: entry ${verdict.seq} does not match the chain: ${verdict.reason} (${count(verdict.entries, 'entry before it is', 'entries before it are')} sound)`);
  process.stdout.write(`chain ok: ${count(verdict.entries, 'entry', 'entries')}, head ${verdict.head}\n`);
  if (verdict.from) {
    process.stdout.write(`the log starts at entry ${verdict.from.seq}: retention removed the entries before it; the chain goes on from ${verdict.from.prev}\n`);
  }
}

/** One line of what an entry is about, for the human table; a field its data lacks (a damaged entry) reads `-` (`shown`). */
export function summarize(entry: Entry): string {
  switch (entry.type) {
    case 'event.received':
      return shown`${entry.data.event_type} ${entry.data.event_id} call=${entry.data.call_id}${isErased(entry) ? ` ${ERASED}` : ''}`;
    case 'delivery.planned':
      return shown`${entry.data.delivery_id} ${entry.data.sink} rule=${entry.data.rule_id} event=${entry.data.event_id}${isErased(entry) ? ` ${ERASED}` : ''}`;
    case 'delivery.attempted': {
      const d = entry.data;
      const error = d.error ? shown` ${d.error.kind} ${d.error.code}` : '';
      const retry = d.retry_at ? shown` retry at ${d.retry_at}` : d.paused ? ' (sink paused: waits)' : '';
      return shown`${d.delivery_id} #${d.attempt} ${d.outcome}${error} ${d.duration_ms}ms${retry}`;
    }
    case 'delivery.dead':
    case 'delivery.retried':
      return shown`${entry.data.delivery_id} ${entry.data.reason}`;
    case 'rules.loaded': {
      // a re-recorded entry (same file, a sink enabled or disabled since) differs by its disabled sinks
      const disabled = Object.entries(entry.data.sinks ?? {}).filter(([, s]) => !s?.enabled);
      const why = disabled.map(([name, s]) => `${name} (${s?.disabled_reason ?? 'disabled'})`).join(', ');
      return shown`${entry.data.path} ${cellText(entry.data.rules_hash).slice(0, 12)}${why ? `; disabled: ${why}` : ''}`;
    }
    case 'sink.paused':
    case 'sink.resumed':
      return shown`${entry.data.sink} ${entry.data.reason}`;
    case 'pending.stale':
      return shown`${entry.data.sink} ${entry.data.count} open, oldest waiting since ${entry.data.oldest_pending_at} (over ${entry.data.pending_after})`;
    case 'pending.cleared':
      return shown`${entry.data.sink} ${entry.data.count} open${entry.data.oldest_pending_at ? shown`, oldest waiting since ${entry.data.oldest_pending_at}` : ''}`;
    case 'call.erased':
      return shown`${entry.data.call_id} by ${entry.data.by}: ${entry.data.reason}${entry.data.downstream ? ' (downstream)' : ''}`;
    case 'log.truncated':
      return shown`entries before ${entry.data.before_seq} removed (${counted(entry.data.entries, 'entry', 'entries')}, ${counted(entry.data.calls, 'call', 'calls')})`;
  }
}

/** `count`, or what the field holds (`cellText`: `-` when missing) and the plural when it is no number (an entry of another shape). */
function counted(n: unknown, one: string, other: string): string {
  return typeof n === 'number' ? count(n, one, other) : shown`${n} ${other}`;
}

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('print log entries, oldest first')
    .option('--since <iso>', 'only entries appended at or after this time (no zone means UTC)', dateOption('--since'))
    .option('--type <type...>', 'only entries of these types (globs allowed: "delivery.*")')
    .option('--call <id>', "only entries about this call: its events and their deliveries' entries")
    .option('--event <id>', "only entries about this event id: the event and its deliveries' entries")
    .option('--follow', 'keep printing new entries as they are appended')
    .option('--json', 'one JSON object per line: {"seq","type","at","data","hash"}')
    .option('--verify', "check the log's hash chain from the first entry to the last; exit 1 naming the first entry that does not match")
    .action(async (opts: LogOptions) => {
      const g = globalsOf(program);
      const store = await openExistingStore(g.dbPath, g.masterKeys);
      if (opts.verify) {
        try {
          return await verifyLog(store, g.dbPath);
        } finally {
          await store.close();
        }
      }
      const filter = { types: opts.type, since: opts.since, callId: opts.call, eventId: opts.event, limit: 5000, hashes: true };
      const print = (entries: Entry[], header: boolean): void => {
        if (entries.length === 0) return;
        if (opts.json) {
          process.stdout.write(entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
          return;
        }
        const rows = entries.map((e) => [String(e.seq), e.at, e.type, summarize(e)]);
        const text = table(['SEQ', 'AT', 'TYPE', 'ABOUT'], rows);
        process.stdout.write((header ? text : text.split('\n').slice(1).join('\n')) + '\n');
      };
      let after = 0;
      let header = true;
      let hinted = false;
      let stop = false;
      process.once('SIGINT', () => (stop = true));
      for (;;) {
        const entries = await store.log.read(after, filter);
        print(entries, header);
        if (entries.length > 0) {
          after = entries[entries.length - 1]!.seq;
          header = false;
        } else if (header && !hinted) {
          hinted = true; // once, also while --follow waits
          await hintEmptyResult({ call: opts.call, event: opts.event, types: opts.type }, store, g);
        }
        if (entries.length === filter.limit) continue;
        if (!opts.follow || stop) break;
        await sleep(250);
      }
      await store.close();
    });
}
