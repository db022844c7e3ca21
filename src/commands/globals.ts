import type { Command } from 'commander';
import { resolveConfig, type RelayConfig } from '../config/resolve.js';
import { openStore, type Store } from '../log/store.js';

export type Globals = RelayConfig;

/** The settings (`--db`, `--rules`, the environment) as every command sees them. */
export function globalsOf(program: Command): Globals {
  return resolveConfig(program.opts<{ db?: string; rules?: string }>());
}

/**
 * Opens an existing log for a command that reads or appends; never creates one by mistake.
 * `interrupt`: the command's Ctrl-C, which ends a write's wait for a lock (`OpenStoreOptions.interrupt`).
 */
export function openExistingStore(dbPath: string, masterKeys?: string, interrupt?: AbortSignal): Promise<Store> {
  return openStore(dbPath, { mustExist: true, masterKeys, interrupt });
}
