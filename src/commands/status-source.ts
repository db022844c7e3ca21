import type { LogReader } from '../log/seam.js';
import type { SinksView } from '../project/queries.js';
import { loadRules } from '../rules/load-rules.js';
import { lastRulesLoaded } from '../log/last-rules-loaded.js';
import { printable } from './table.js';

/**
 * Where `status` took the sinks' states from (`sinks_from` in `status --json`, README "Command line"):
 * - `{"source":"rules.loaded","seq":N,"at":ISO,"path":P,"rules_hash":H}`: the log's newest
 *   `rules.loaded` (seq N, appended at `at`), by the relay that runs on this log, which loaded
 *   the rules file P (as that relay names it) with sha256 H. What that relay has, wherever
 *   `status` runs.
 * - `{"source":"rules file","path":P,"reason":R}`: the rules file `status` itself read (P its
 *   absolute path, from `--rules` / `HUSKY_RELAY_RULES` / `./rules.yaml`), because the log
 *   does not say; R says why, in words (the log has no `rules.loaded`, or its newest one has
 *   no sink states: an older relay wrote it, or it is damaged: `DamagedEntryError`'s words).
 */
export type SinksFrom =
  | { source: 'rules.loaded'; seq: number; at: string; path: string; rules_hash: string }
  | { source: 'rules file'; path: string; reason: string };

/** The sinks `status` shows, and where they came from. `view` is null when the rules file it fell back to does not load. */
export interface StatusSinks {
  view: SinksView;
  from: SinksFrom;
}

/**
 * The sinks' states as the running relay has them: from the newest `rules.loaded` in the log
 * when it records them; else from the local rules file at `rulesPath`, read with `env` for
 * its `${VAR}`s (a file that does not load says so on stderr, and its sinks show as disabled).
 */
export async function statusSinks(log: LogReader, rulesPath: string, env: NodeJS.ProcessEnv): Promise<StatusSinks> {
  // a damaged newest rules.loaded counts as none, as serve's start counts it (README "Faults")
  const { entry: last, damaged } = await lastRulesLoaded(log);
  if (last?.data.sinks !== undefined) {
    const { rules_hash, path, sinks } = last.data;
    return { view: { sinks }, from: { source: 'rules.loaded', seq: last.seq, at: last.at, path, rules_hash } };
  }
  const reason = damaged
    ? `the log's latest rules.loaded (seq ${damaged.seq}) is damaged: ${damaged.what}`
    : last === undefined
      ? 'the log has no rules.loaded'
      : `the log's latest rules.loaded (seq ${last.seq}) has no sink states: an older relay wrote it`;
  const from: SinksFrom = { source: 'rules file', path: rulesPath, reason };
  const result = await loadRules(rulesPath, env);
  if (result.ok) return { view: result.rules, from };
  process.stderr.write(`husky-relay: the rules file ${rulesPath} does not load (run \`husky-relay rules check\`); sinks show as disabled\n`);
  return { view: null, from };
}

/** The line of human `status` saying where the sinks' states come from. */
export function sinksFromText(from: SinksFrom): string {
  if (from.source === 'rules.loaded') return printable(`sinks from the log: rules loaded at seq ${from.seq} (${from.at}) from ${from.path}`);
  return printable(`sinks from ${from.path} (${from.reason})`);
}
