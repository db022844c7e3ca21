import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { didYouMean } from '../rules/did-you-mean.js';
import { loadRules } from '../rules/load-rules.js';
import { globalsOf, openExistingStore } from './globals.js';

/**
 * `husky-relay resume SINK` (README "Command line", "When a rule fails at run time"): appends `sink.resumed` for a sink paused after its
 * credentials were refused. A running `serve` sees the entry on its next poll and sends the
 * sink's waiting deliveries. A sink that is not paused is a user error naming the paused ones.
 */
export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('resume a sink paused after its credentials were refused (appends sink.resumed; a running serve picks it up)')
    .argument('<sink>', 'the sink, as the rules file names it')
    .action(async (sink: string) => {
      const g = globalsOf(program);
      const store = await openExistingStore(g.dbPath, g.masterKeys);
      try {
        const states = await store.projections.sinkStates();
        const paused = Object.keys(states).filter((name) => states[name]!.paused);
        const state = states[sink]?.paused;
        if (!state) {
          const loaded = await loadRules(g.rulesPath, g.env);
          const known = [...new Set([...(loaded.ok ? Object.keys(loaded.rules.sinks) : []), ...Object.keys(states)])];
          const what = known.includes(sink) ? `sink "${sink}" is not paused` : `no sink "${sink}"${didYouMean(sink, known)}`;
          throw new UserError(`resume: ${what} (paused: ${paused.length ? paused.join(', ') : 'none'})`);
        }
        await store.writer.append([{ type: 'sink.resumed', data: { sink, reason: 'resumed by hand (husky-relay resume)', code: 'resume' } }]);
        process.stdout.write(`resumed: ${sink} (paused since ${state.at}: ${state.reason})\n`);
      } finally {
        await store.close();
      }
    });
}
