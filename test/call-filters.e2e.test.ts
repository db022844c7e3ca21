import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D, EXPECTED_STORY, OTHER_CALL, STORY_CALL, writeStory } from './helpers/call-scenario.js';
import { cliEnv, jsonLines, runCli, runOnTerminal } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';

interface Row {
  delivery_id: string;
  call_id: string | null;
  dead_reason: string | null;
}

// read-only over two logs written in beforeAll; one CLI at a time (each is a node process)
describe('filters by call, event and rule (README "Command line")', () => {
  let temp: ReturnType<typeof tempDir>;
  let logs: { current: { dbPath: string; rulesPath: string }; old: { dbPath: string; rulesPath: string } };

  beforeAll(async () => {
    // Given the call of issue 14 and another call, in a log written now, and in one written
    // before plans carried call_id
    temp = tempDir('husky-filters-');
    const [current, old] = [join(temp.dir, 'current'), join(temp.dir, 'old')];
    mkdirSync(current);
    mkdirSync(old);
    logs = { current: await writeStory(current), old: await writeStory(old, { withCallIds: false }) };
  });
  afterAll(() => temp.cleanup());

  const cli = (which: 'current' | 'old', ...args: string[]) =>
    runCli(['--db', logs[which].dbPath, '--rules', logs[which].rulesPath, ...args], { cwd: temp.dir, env: cliEnv() });
  const ids = async (which: 'current' | 'old', ...args: string[]) => {
    const result = await cli(which, 'deliveries', '--json', ...args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return (JSON.parse(result.stdout) as Row[]).map((r) => r.delivery_id);
  };
  const seqs = async (which: 'current' | 'old', ...args: string[]) => {
    const result = await cli(which, 'log', '--json', ...args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return jsonLines(result.stdout).map((e) => e['seq']);
  };

  it('deliveries takes --call, --rule and --event, AND-ed with --status and --sink', async () => {
    expect(await ids('current', '--call', STORY_CALL, '--rule', 'thread')).toEqual([D.d3, D.d1]);
    expect(await ids('current', '--event', 'evt_story_3', '--sink', 'crm')).toEqual([D.d4]);
    expect(await ids('current', '--call', STORY_CALL, '--status', 'dead')).toEqual([D.d2]);
  }, 60_000);

  it('log takes --call and --event, AND-ed with --type', async () => {
    expect(await seqs('current', '--call', STORY_CALL, '--type', 'delivery.dead')).toEqual([8, 15]);
    expect(await seqs('current', '--event', 'evt_story_3')).toEqual([10, 11, 12, 13, 14, 15, 17, 18]);
  });

  it('deliveries --json carries each delivery\'s call_id and dead_reason', async () => {
    const rows = JSON.parse((await cli('current', 'deliveries', '--json', '--call', STORY_CALL)).stdout) as Row[];
    expect(rows.map((r) => [r.delivery_id, r.call_id, r.dead_reason])).toEqual([
      [D.d4, STORY_CALL, null],
      [D.d3, STORY_CALL, null],
      [D.d2, STORY_CALL, 'render_failed: text: memory alloc limit exceeded, line:1, col:1'],
      [D.d1, STORY_CALL, null],
    ]);
  });

  it('a log written before plans carried call_id tells the same story: the call is taken from each plan\'s event', async () => {
    const old = await cli('old', 'call', STORY_CALL, '--json');
    expect(old.code).toBe(0);
    expect(JSON.parse(old.stdout)).toEqual(EXPECTED_STORY);
    const plans = jsonLines((await cli('old', 'log', '--json', '--type', 'delivery.planned')).stdout);
    expect(plans.length).toBeGreaterThan(0);
    expect(plans.every((p) => !('call_id' in (p['data'] as object)))).toBe(true);
    const current = jsonLines((await cli('current', 'log', '--json', '--type', 'delivery.planned', '--call', STORY_CALL)).stdout);
    expect(current.map((p) => (p['data'] as Record<string, unknown>)['call_id'])).toEqual([STORY_CALL, STORY_CALL, STORY_CALL, STORY_CALL]);
  }, 60_000);

  it('a name nothing knows: piped, the empty result and exit 0, nothing on stderr', async () => {
    for (const args of [['deliveries', '--json', '--sink', 'slak'], ['deliveries', '--json', '--status', 'daed']]) {
      expect(await cli('current', ...args)).toMatchObject({ code: 0, stdout: '[]\n', stderr: '' });
    }
    expect(await cli('current', 'log', '--json', '--call', 'nope')).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 60_000);

  it('a name nothing knows: on a terminal, one line naming the known ones; exit 0', async () => {
    const dir = temp.dir;
    const db = ['--db', logs.current.dbPath, '--rules', logs.current.rulesPath];
    const sink = await runOnTerminal([...db, 'deliveries', '--sink', 'slak'], dir);
    const rule = await runOnTerminal([...db, 'deliveries', '--rule', 'thead', '--call', STORY_CALL], dir);
    const status = await runOnTerminal([...db, 'deliveries', '--status', 'daed'], dir);
    const call = await runOnTerminal([...db, 'log', '--call', 'call_nope'], dir);
    const event = await runOnTerminal([...db, 'deliveries', '--event', 'evt_nope'], dir);
    const known = await runOnTerminal([...db, 'deliveries', '--sink', 'crm', '--status', 'dead'], dir);
    const type = await runOnTerminal([...db, 'log', '--type', 'sink.pausd'], dir);
    const knownType = await runOnTerminal([...db, 'log', '--type', 'sink.paused'], dir);
    const hints = (output: string) => output.split('\n').filter((l) => l.startsWith('husky-relay: '));
    for (const r of [sink, rule, status, call, event, known, type, knownType]) expect(r.code).toBe(0);
    expect(hints(sink.output)).toEqual(['husky-relay: no sink "slak" in the rules or the log (did you mean "slack"?); known sinks: crm, slack']);
    expect(hints(rule.output)).toEqual(['husky-relay: no rule "thead" in the rules or the log (did you mean "thread"?); known rules: crm, stars, thread']);
    expect(hints(status.output)).toEqual(['husky-relay: no status "daed" (did you mean "dead"?); known statuses: pending, retrying, succeeded, dead']);
    expect(hints(call.output)).toEqual(['husky-relay: no call "call_nope" in the log']);
    expect(hints(event.output)).toEqual(['husky-relay: no event "evt_nope" in the log']);
    expect(hints(type.output)).toEqual([
      'husky-relay: no entry type "sink.pausd" (did you mean "sink.paused"?); known types: event.received, delivery.planned, delivery.attempted, delivery.dead, delivery.retried, rules.loaded, sink.paused, sink.resumed, pending.stale, pending.cleared, call.erased, log.truncated',
    ]);
    // a known sink with nothing of that status, a known type with no entry: the empty result, and no hint
    expect(hints(known.output)).toEqual([]);
    expect(hints(knownType.output)).toEqual([]);
    expect(known.output.trim().split(/\s+/)[0]).toBe('DELIVERY');
  }, 90_000);

  it('replay --type that finds nothing for an unknown name: on a terminal, the same one line after the result; exit 0', async () => {
    const dir = temp.dir;
    const db = ['--db', logs.current.dbPath, '--rules', logs.current.rulesPath];
    const slip = await runOnTerminal([...db, 'replay', '--dry-run', '--type', 'call.complete'], dir);
    const glob = await runOnTerminal([...db, 'replay', '--dry-run', '--type', 'sms.*'], dir);
    const stored = await runOnTerminal([...db, 'replay', '--dry-run', '--type', 'call.recording_ready'], dir);
    const hints = (output: string) => output.split('\n').filter((l) => l.startsWith('husky-relay: '));
    for (const r of [slip, glob, stored]) expect(r.code).toBe(0);
    const types = "HuskyVoice's event types: call.initiated, call.answered, call.completed, call.failed, call.disallowed";
    expect(hints(slip.output)).toEqual([`husky-relay: no event of type "call.complete" in the log (did you mean "call.completed"?); ${types}`]);
    expect(hints(glob.output)).toEqual([`husky-relay: no event of type "sms.*" in the log; ${types}`]);
    // a type HuskyVoice does not document, but the log holds: read, no hint
    expect(hints(stored.output)).toEqual([]);
    expect(stored.output).toContain('would be planned for 1 event');
  }, 90_000);

  it('retry --dead --sink naming a sink neither in the rules nor the log: exit 1 naming the known ones, piped or not, as resume does; nothing re-driven', async () => {
    const db = ['--db', logs.current.dbPath, '--rules', logs.current.rulesPath];
    const line = 'husky-relay: retry: no sink "slak" in the rules or the log (did you mean "slack"?); known sinks: crm, slack';
    const retried = async () => (await cli('current', 'log', '--json', '--type', 'delivery.retried')).stdout;
    const before = await retried();
    const piped = await runCli([...db, 'retry', '--dead', '--sink', 'slak'], { cwd: temp.dir, env: cliEnv() });
    expect(piped).toMatchObject({ code: 1, stdout: '', stderr: `${line}\n` });
    const terminal = await runOnTerminal([...db, 'retry', '--dead', '--sink', 'slak'], temp.dir);
    expect(terminal.code).toBe(1);
    expect(terminal.output.split('\n').filter((l) => l.trim() !== '')).toEqual([line]);
    expect(await retried()).toBe(before);
    // a sink the rules know, with nothing dead: re-drives nothing, as before (exit 0)
    expect(await runCli([...db, 'retry', '--dead', '--sink', 'crm'], { cwd: temp.dir, env: cliEnv() })).toMatchObject({ code: 0, stdout: 're-driven: 0 deliveries\n', stderr: '' });
  }, 90_000);
});
