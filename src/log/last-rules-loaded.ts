import { DamagedEntryError } from './damaged-entry.js';
import type { EntryOf, LogReader } from './seam.js';

/**
 * The log's newest `rules.loaded`, as `serve`'s start and `status` read it (README "Faults"):
 * - `{ entry }`: the entry, its data of the shape a relay writes (`rules_hash` and `path` text,
 *   `sinks` absent, as an older relay left it, or sink states by name);
 * - `{ damaged }`: it cannot be read back (not JSON), or its data is not what a `rules.loaded`
 *   holds (rewritten by hand as `{}`, `sinks: null`…). Both callers count it as none: `serve`
 *   records the rules in force again, `status` falls back to its rules file and says why;
 * - `{}`: the log has none.
 * A log that cannot be read at all is thrown (`LogUnavailableError` and the like).
 */
export async function lastRulesLoaded(log: LogReader): Promise<{ entry?: EntryOf<'rules.loaded'>; damaged?: DamagedEntryError }> {
  let entry: EntryOf<'rules.loaded'> | undefined;
  try {
    entry = await log.lastOfType('rules.loaded');
  } catch (error) {
    if (error instanceof DamagedEntryError) return { damaged: error };
    throw error;
  }
  if (entry === undefined) return {};
  const problem = shapeProblem(entry.data as unknown as Record<string, unknown>);
  return problem === undefined ? { entry } : { damaged: new DamagedEntryError([entry.seq], `its data is not what a rules.loaded entry holds (${problem})`) };
}

/** What is wrong with a `rules.loaded`'s data, in words (`path is missing`), or undefined when it is what a relay writes. */
function shapeProblem(data: Record<string, unknown>): string | undefined {
  for (const field of ['rules_hash', 'path'] as const) {
    if (data[field] === undefined) return `${field} is missing`;
    if (typeof data[field] !== 'string') return `${field} is not text`;
  }
  const sinks = data['sinks'];
  if (sinks === undefined) return undefined;
  if (!isObject(sinks)) return 'sinks is not an object of sink states';
  for (const [name, state] of Object.entries(sinks)) {
    const ok = isObject(state) && typeof state['enabled'] === 'boolean' && (state['disabled_reason'] === undefined || typeof state['disabled_reason'] === 'string');
    if (!ok) return `the state of sink ${JSON.stringify(name)} is not {enabled, disabled_reason}`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
