import type { Command } from 'commander';
import { resumeSink } from '../delivery/resume-sink.js';
import { rulesSinkNames } from './filter-hints.js';
import { globalsOf } from './globals.js';
import { writeUnlessInterrupted } from './interrupt.js';
import { printable } from './table.js';

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
      // a Ctrl-C while the log opens, or while the append waits for serve's write lock, says the sink was not resumed, not exit 130
      await writeUnlessInterrupted(g, 'resume', async (store) => {
        const state = await resumeSink(store.projections, store.writer, sink, () => rulesSinkNames(g));
        process.stdout.write(`${printable(`resumed: ${sink} (paused since ${state.at}: ${state.reason})`)}\n`);
      });
    });
}
