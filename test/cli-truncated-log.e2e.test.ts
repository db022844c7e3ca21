import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, runOnTerminal } from './helpers/cli.js';
import { logFixture } from './helpers/log-fixture.js';
import { writeTruncatedLog } from './helpers/truncated-log.js';

/**
 * Filters naming a call or event that retention removed (README "Filters" and "Retention"): the
 * empty result and exit 0, as for any name the log does not hold; on a terminal the one-line
 * hint says where the log starts, as `call` does, so "not in the log" is not read as "never came".
 */
describe('log and deliveries filtered by an event or call retention removed', () => {
  // Given a log whose entries 1-3 (evt_1..evt_3 of call_1..call_3) retention removed: it starts at entry 4
  const log = logFixture('husky-truncated-', async (dbPath) => expect(await writeTruncatedLog(dbPath)).toEqual({ erased: 4, removed: 3 }));

  const hints = (output: string) => output.split('\n').filter((line) => line.startsWith('husky-relay: '));

  it('on a terminal: one line saying the event is not in the log and where the log starts; exit 0', async () => {
    // When a person asks for a removed event, and for the deliveries of another
    const event = await runOnTerminal([...log.db, 'log', '--event', 'evt_1'], log.dir);
    const deliveries = await runOnTerminal([...log.db, 'deliveries', '--event', 'evt_3'], log.dir);
    // Then each says so on one line, and exits 0 as any filter that finds nothing
    for (const r of [event, deliveries]) expect(r.code).toBe(0);
    expect(hints(event.output)).toEqual(['husky-relay: no event "evt_1" in the log (the log starts at entry 4: retention removed the events before it)']);
    expect(event.output.trim()).toBe(hints(event.output)[0]);
    expect(hints(deliveries.output)).toEqual(['husky-relay: no event "evt_3" in the log (the log starts at entry 4: retention removed the events before it)']);
    // and an event still in the log is printed, with no hint
    const kept = await runOnTerminal([...log.db, 'log', '--event', 'evt_4'], log.dir);
    expect(kept.code).toBe(0);
    expect(hints(kept.output)).toEqual([]);
    expect(kept.output).toContain('call.completed evt_4 call=call_4');
  }, 60_000);

  it('piped: the empty result, nothing on stderr, exit 0 (scripts read the result alone)', async () => {
    const piped = await runCli([...log.db, 'log', '--event', 'evt_1'], { cwd: log.dir, env: cliEnv() });
    expect(piped).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });
});
