/**
 * The program: its options, its commands, and the one place that turns errors into exit
 * codes (0 ok, 1 a user error in one line, 2 an internal error with its stack). Loaded by
 * `cli.ts` once the signals `serve` needs are held.
 */
import { Command, CommanderError } from 'commander';
import { registerCall } from './call.js';
import { registerDeliveries } from './deliveries.js';
import { registerErase } from './erase.js';
import { globalsOf } from './globals.js';
import { registerLog } from './log.js';
import { registerMigrate } from './migrate.js';
import { registerReplay } from './replay.js';
import { registerResume } from './resume.js';
import { registerRulesCommands } from './rules.js';
import { registerServe } from './serve.js';
import { registerSignSend } from './sign-send.js';
import { printableLines } from './table.js';
import { loadDotEnv, packageVersion } from '../config/resolve.js';
import { UserError } from '../errors.js';
import { codeOf } from '../os-errors.js';
import { storageError } from '../log/sqlite/storage-error.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import { isPostgresUrl, redactUrl } from '../log/location.js';

const program = new Command('husky-relay')
  .description('HuskyVoice webhooks → durable log → Slack, HubSpot, HTTP')
  .option('--db <path>', 'the SQLite log (env HUSKY_RELAY_DB, default ./data/husky-relay.db)')
  .option('--rules <path>', 'the rules file (env HUSKY_RELAY_RULES, default ./rules.yaml, else ./rules.example.yaml)')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride()
  // a usage error quotes what was typed (an id pasted from an event): shown escaped, as data is
  .configureOutput({ outputError: (text, write) => write(printableLines(text)) });

registerServe(program);
registerLog(program);
registerSignSend(program);
registerDeliveries(program);
registerCall(program);
registerReplay(program);
registerResume(program);
registerErase(program);
registerMigrate(program);
registerRulesCommands(program, () => {
  const g = globalsOf(program);
  if (g.rulesWarning) process.stderr.write(`husky-relay: ${g.rulesWarning}\n`);
  return g;
});
// `husky-relay log | head` closes the pipe early; that is not an error
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/**
 * A SQLite failure met after the log opened (a damaged page read by `status`, `replay --rebuild`,
 * a disk that fills during a command) is the machine's, not ours: one line naming the log's path.
 * So is an entry whose data is not JSON (`DamagedEntryError`): the line names its seq too.
 */
function asStorageError(error: unknown): unknown {
  if (error instanceof DamagedEntryError) return error.at(displayedLog());
  if (!codeOf(error)?.startsWith('SQLITE_')) return error;
  try {
    return storageError(error, globalsOf(program).dbPath);
  } catch {
    return error; // the settings themselves are what failed: report the original
  }
}

/** The log as a message names it: its path, or its URL without the password. */
function displayedLog(): string | undefined {
  try {
    const { dbPath } = globalsOf(program);
    return isPostgresUrl(dbPath) ? redactUrl(dbPath) : dbPath;
  } catch {
    return undefined;
  }
}

try {
  loadDotEnv();
  await program.parseAsync();
} catch (caught) {
  const error = asStorageError(caught);
  if (error instanceof CommanderError) {
    // help and version exit 0; usage errors are the user's (exit 1)
    process.exit(error.exitCode === 0 ? 0 : 1);
  }
  if (error instanceof UserError) {
    // it may quote an id, a type or a file's text: escaped, so nothing in it reaches the terminal as a command
    process.stderr.write(`husky-relay: ${printableLines(error.message)}\n`);
    process.exit(1);
  }
  process.stderr.write(`husky-relay: internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
}
