import { parentPort, workerData } from 'node:worker_threads';
import { testEvent } from '../commands/rules.js';
import { loadRules } from '../rules/load-rules.js';
import { formatProblem } from '../rules/problem.js';

/**
 * The console's `rules test` (`Actions.testRules`), on a thread of its own: each looping
 * template may run 2 × 250 ms before it is stopped, so a rules file with a few of them held the
 * thread that answers webhooks for seconds (issue 11 item 3: planning never delays an
 * acknowledgement). Posts the lines the CLI would print, then ends.
 */
export interface RulesTestJob {
  path: string;
  env: Record<string, string | undefined>;
  text: string;
  where: string;
}

const job = workerData as RulesTestJob;
const lines: string[] = [];
const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
const loaded = await loadRules(job.path, job.env);
if (!loaded.ok) for (const p of loaded.problems) lines.push(formatProblem(p));
else testEvent(loaded.rules, job.text, job.where, io);
parentPort!.postMessage(lines);
