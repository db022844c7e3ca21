import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { Store } from '../log/store.js';
import { globalsOf, type Globals } from './globals.js';
import { writeUnlessInterrupted } from './interrupt.js';
import type { NewEntry } from '../log/types.js';
import { downstreamPlans, ERASE_RULE } from '../privacy/downstream.js';
import { loadRules } from '../rules/load-rules.js';
import { sinkKind } from '../sinks/registry.js';
import { printable, table } from './table.js';
import { count } from '../count.js';

interface EraseOptions {
  call?: string[];
  contact?: string;
  downstream?: boolean;
  dryRun?: boolean;
  reason?: string;
}

/**
 * `husky-relay erase (--call ID... | --contact EMAIL_OR_PHONE) [--downstream] [--dry-run] [--reason TEXT]`
 * (README "Personal data"): deletes the calls' payloads and data keys and appends `call.erased`
 * for each. Works while `serve` runs: a direct write, waiting for serve's writer like `retry`.
 * A call unknown to the log, or both or neither of `--call` and `--contact`, is a user error.
 */
export function registerErase(program: Command): void {
  program
    .command('erase')
    .description("erase calls' personal data (event bodies, rendered requests) for good; the facts and the hash chain stay")
    .option('--call <id...>', 'these calls')
    .option('--contact <email-or-phone>', 'every call whose events carry this email or phone number')
    .option('--downstream', 'also plan deletions at the sinks that received the calls')
    .option('--dry-run', 'list what would be erased; change nothing')
    .option('--reason <text>', 'why (kept in the call.erased entry)', 'erasure request')
    .action(async (opts: EraseOptions) => {
      if ((opts.call === undefined) === (opts.contact === undefined)) throw new UserError('erase: give either --call ID... or --contact EMAIL_OR_PHONE');
      const g = globalsOf(program);
      // a Ctrl-C while the log opens, or while the erasure waits for serve's write lock, says nothing was erased, not exit 130
      await writeUnlessInterrupted(g, 'erase', (store) => erase(store, opts, g.rulesPath, g.env));
    });
}

/**
 * The deletions `--downstream` plans for the calls being erased (read before the erasure, in
 * `erase`'s own transaction). Needs the rules: a sink's kind says what undoes its deliveries.
 */
async function downstream(store: Store, rulesPath: string, env: Globals['env']): Promise<(calls: string[]) => Promise<NewEntry[]>> {
  const loaded = await loadRules(rulesPath, env);
  if (!loaded.ok) throw new UserError(`erase --downstream: the rules file ${rulesPath} does not load (husky-relay rules check): the sinks' kinds come from it`);
  const rules = loaded.rules;
  const kindOf = (sink: string) => {
    const type = rules.sinks[sink]?.config.type;
    return type === undefined ? undefined : sinkKind(type);
  };
  return async (calls) => {
    const plans: NewEntry[] = [];
    for (const id of calls) {
      const view = await store.projections.call(id);
      if (view) plans.push(...downstreamPlans(view.story, kindOf, rules.hash));
    }
    return plans;
  };
}

async function erase(store: Store, opts: EraseOptions, rulesPath: string, env: Globals['env']): Promise<void> {
  const ids = opts.call ?? (await store.privacy.callsOfContact(opts.contact!));
  if (ids.length === 0) {
    process.stdout.write(`no call in the log carries ${printable(opts.contact!)}; nothing to erase\n`);
    return;
  }
  const found = await store.privacy.erasable(ids);
  const unknown = ids.filter((id) => !found.some((c) => c.call_id === id));
  if (unknown.length > 0) throw new UserError(`erase: no call ${unknown.map(printable).join(', ')} in the log (see \`husky-relay call ID\`)`);
  if (opts.dryRun) {
    process.stdout.write(
      table(
        ['CALL', 'EVENTS', 'PAYLOADS', 'STATE'],
        found.map((c) => [printable(c.call_id), String(c.events), String(c.payloads), c.erased ? 'erased already' : 'would be erased']),
      ) + '\n',
    );
    const n = found.filter((c) => !c.erased).length;
    process.stdout.write(`dry run: ${count(n, 'call', 'calls')} would be erased; nothing was changed\n`);
    return;
  }
  const also = opts.downstream ? await downstream(store, rulesPath, env) : undefined;
  const result = await store.privacy.erase({ callIds: ids, reason: opts.reason ?? 'erasure request', by: 'cli', downstream: opts.downstream === true, also });
  for (const c of result.calls) {
    if (c.seq === null) process.stdout.write(`${printable(c.call_id)}: erased already\n`);
    else process.stdout.write(`erased ${printable(c.call_id)}: ${count(c.payloads, 'payload', 'payloads')}, ${count(c.closed, 'open delivery', 'open deliveries')} closed (seq ${c.seq})\n`);
  }
  if (opts.downstream) process.stdout.write(`deletions at the sinks are planned as deliveries: \`husky-relay deliveries --rule ${ERASE_RULE}\` (a running serve sends them)\n`);
  if (result.leftover) process.stderr.write(`husky-relay: ${result.leftover}\n`);
}
