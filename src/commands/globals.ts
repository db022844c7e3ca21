import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveDbPath, resolveRulesPath } from '../config.js';
import { UserError } from '../errors.js';
import { Log } from '../log/log.js';

export interface Globals {
  dbPath: string;
  rulesPath: string;
  rulesWarning?: string;
  /** Set when the example stands in: the rules file that takes over once it exists. */
  rulesPreferred?: string;
  env: NodeJS.ProcessEnv;
}

/** The global options (`--db`, `--rules`) as every command sees them. */
export function globalsOf(program: Command): Globals {
  const opts = program.opts<{ db?: string; rules?: string }>();
  const rules = resolveRulesPath(opts.rules, process.env);
  return {
    dbPath: resolveDbPath(opts.db, process.env),
    rulesPath: rules.path,
    rulesWarning: rules.warning,
    ...(rules.preferred !== undefined && { rulesPreferred: rules.preferred }),
    env: process.env,
  };
}

/** Opens an existing log for a command that reads or appends; never creates one by mistake. */
export function openExistingLog(dbPath: string): Log {
  if (!existsSync(dbPath)) {
    throw new UserError(`no log at ${dbPath}: start \`husky-relay serve\` first, or point --db (HUSKY_RELAY_DB) at it`);
  }
  return new Log(dbPath);
}
