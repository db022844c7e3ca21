import { describe, expect, it } from 'vitest';
import { needsAPerson } from '../src/console/attention.js';
import type { SinkStatus } from '../src/project/queries.js';

/**
 * The deliveries page's "Needs a person" list (README "Console"): "Re-drive all N dead of SINK"
 * counts only the dead letters it can re-drive, never those an erasure closed (`retry --dead`
 * skips them), and dead letters an erasure closed alone are nothing for a person to do.
 */
/** A sink's status with what `needsAPerson` reads: the rest is never looked at. */
const sink = (over: Partial<SinkStatus> = {}): SinkStatus => ({ paused: false, dead: 0, ...over }) as SinkStatus;

describe('the sinks that need a person', () => {
  it('a sink whose only dead letters an erasure closed is not listed, and none is offered a re-drive of them', () => {
    const listed = needsAPerson({ crm: sink({ dead: 2 }), ok: sink({ succeeded: 4 }) }, { crm: { redrivable: 0, erased: 2 } });
    expect(listed).toEqual([]);
  });

  it('counts the re-drivable dead letters for the button, and says how many an erasure closed', () => {
    const listed = needsAPerson(
      { crm: sink({ dead: 5 }), hook: sink({ dead: 1 }), slack: sink({ dead: 2, paused: true, paused_reason: 'invalid_auth: x', paused_at: 't' }) },
      { crm: { redrivable: 3, erased: 2 }, hook: { redrivable: 1, erased: 0 }, slack: { redrivable: 0, erased: 2 } },
    );
    expect(listed.map((s) => [s.name, s.redrivable, s.dead_text])).toEqual([
      ['crm', 3, '3 dead, and 2 of erased calls (nothing to re-drive)'],
      ['hook', 1, '1 dead'],
      // listed for its pause: its dead letters are said to be an erasure's, with no re-drive to offer
      ['slack', 0, '2 dead of erased calls (nothing to re-drive)'],
    ]);
    expect(needsAPerson({ slack: sink({ paused: true }) }, {})).toMatchObject([{ name: 'slack', redrivable: 0, erased: 0, dead_text: '' }]);
  });
});
