import type { StatusReport } from '../project/queries.js';
import type { DeadLetters } from '../project/reader.js';

/**
 * A sink on the deliveries page's "Needs a person" list (README "Console"): its `status`, and its
 * dead letters counted apart: `redrivable`, what "Re-drive all N dead" re-drives (none: no such
 * button), and `erased`, those an erasure closed, which nothing re-drives. `dead_text` says both.
 */
export type SinkAttention = StatusReport['sinks'][string] & { name: string; redrivable: number; erased: number; dead_text: string };

/**
 * The sinks that need a person, by name: paused ones (to resume), and those with dead letters a
 * person can re-drive. Dead letters an erasure closed alone do not make a sink need one (there is
 * nothing to do about them); a sink listed for another reason says it has them.
 */
export function needsAPerson(sinks: StatusReport['sinks'], dead: Record<string, DeadLetters>): SinkAttention[] {
  return Object.entries(sinks)
    .map(([name, s]) => {
      const { redrivable, erased } = dead[name] ?? { redrivable: 0, erased: 0 };
      return { name, ...s, redrivable, erased, dead_text: deadText(redrivable, erased) };
    })
    .filter((s) => s.paused || s.redrivable > 0);
}

/**
 * `3 dead`, `2 dead of erased calls (nothing to re-drive)`, `3 dead, and 2 of erased calls (…)`; '' for none.
 * "Of erased calls": closed by the erasure, or dead before or since it (README "Erasure").
 */
function deadText(redrivable: number, erased: number): string {
  const closed = `of erased calls (nothing to re-drive)`;
  if (erased === 0) return redrivable === 0 ? '' : `${redrivable} dead`;
  return redrivable === 0 ? `${erased} dead ${closed}` : `${redrivable} dead, and ${erased} ${closed}`;
}
