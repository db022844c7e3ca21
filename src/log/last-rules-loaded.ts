import { DamagedEntryError } from './damaged-entry.js';
import { misshapenEntryError } from './entry-shape.js';
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
  const damaged = misshapenEntryError(entry);
  return damaged ? { damaged } : { entry };
}
