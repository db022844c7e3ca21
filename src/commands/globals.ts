import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveConfig, type RelayConfig } from '../config/resolve.js';
import { UserError } from '../errors.js';
import { SqliteLog } from '../log/sqlite/sqlite-log.js';

export type Globals = RelayConfig;

/** The settings (`--db`, `--rules`, the environment) as every command sees them. */
export function globalsOf(program: Command): Globals {
  return resolveConfig(program.opts<{ db?: string; rules?: string }>());
}

/** Opens an existing log for a command that reads or appends; never creates one by mistake. */
export function openExistingLog(dbPath: string): SqliteLog {
  if (!existsSync(dbPath)) {
    throw new UserError(`no log at ${dbPath}: start \`husky-relay serve\` first, or point --db (HUSKY_RELAY_DB) at it`);
  }
  return new SqliteLog(dbPath);
}
