import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { D, EXPECTED_STORY, OTHER_CALL, STORY_CALL, writeStory } from './helpers/call-scenario.js';
import { cliEnv, killServe, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';

/** Each column of an aligned table starts where its heading does, after two spaces, on every row. */
function expectAligned(lines: string[], headings: string[]): void {
  const header = lines[0]!;
  expect(header.split(/ {2,}/)).toEqual(headings);
  const starts = headings.slice(1).map((h) => header.indexOf(h));
  for (const line of lines.slice(1)) {
    for (const start of starts) {
      expect(line.slice(start - 2, start), `column at ${start} of ${JSON.stringify(line)}`).toBe('  ');
      expect(line[start]).not.toBe(' ');
    }
  }
}

/** A row of an aligned table, as its cells. */
const cells = (line: string | undefined) => (line ?? '').split(/ {2,}/);

describe('husky-relay call CALL_ID (README "What happened to this call?")', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  let rulesPath: string;
  const call = (...args: string[]) => runCli(['--db', dbPath, '--rules', rulesPath, 'call', ...args], { cwd: temp.dir, env: cliEnv() });

  beforeAll(async () => {
    // Given a call with five events: one delivery retried then succeeded, one dead, one re-driven
    temp = tempDir('husky-call-');
    ({ dbPath, rulesPath } = await writeStory(temp.dir));
  });
  afterAll(() => temp.cleanup());

  it('--json prints the whole story as one object: events, deliveries, every attempt, dead reasons', async () => {
    // When
    const result = await call(STORY_CALL, '--json');
    // Then
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.endsWith('}\n')).toBe(true);
    expect(JSON.parse(result.stdout)).toEqual(EXPECTED_STORY);
    // and in the documented key order (§9), at every level: the exact bytes of EXPECTED_STORY, written in that order
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(['call_id', 'org_id', 'erased', 'events', 'deliveries']);
    expect(result.stdout).toBe(`${JSON.stringify(EXPECTED_STORY)}\n`);
  });

  it('prints a summary, the deliveries as they stand and every entry about the call in log order, aligned', async () => {
    // When
    const result = await call(STORY_CALL);
    // Then
    expect(result.code).toBe(0);
    const [head, deliveries, timeline] = result.stdout.trimEnd().split('\n\n').map((block) => block.split('\n'));
    expect(head).toEqual(['call call_story_1  org org_story', '5 events, 4 deliveries: 3 succeeded, 1 dead']);

    expectAligned(deliveries!, ['DELIVERY', 'EVENT', 'RULE', 'SINK', 'ORDER KEY', 'STATUS', 'ATTEMPTS', 'RESULT', 'DEAD REASON']);
    expect(deliveries!.slice(1).map(cells)).toEqual([
      [D.d1, 'evt_story_1', 'thread', 'slack', STORY_CALL, 'succeeded', '2', 'channel=C0CALLS ts=1780304408.000100', '-'],
      [D.d2, 'evt_story_2', 'stars', 'slack', '-', 'dead', '0', '-', 'render_failed: text: memory alloc limit exceeded, line:1, col:1'],
      [D.d3, 'evt_story_3', 'thread', 'slack', STORY_CALL, 'succeeded', '1', 'channel=C0CALLS ts=1780304411.000200', '-'],
      [D.d4, 'evt_story_3', 'crm', 'crm', '-', 'succeeded', '2', 'status=200', '-'],
    ]);

    expectAligned(timeline!, ['SEQ', 'AT', 'DELIVERY', 'WHAT', 'DETAIL']);
    const rows = timeline!.slice(1).map(cells);
    // every entry about the call, none of the other call's (seqs 3, 4, 20-22)
    expect(rows.map((r) => Number(r[0]))).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const row = (seq: number) => rows.find((r) => r[0] === String(seq));
    expect(row(1)).toEqual(['1', '2026-06-01T09:00:01.000Z', '-', 'event', 'call.initiated evt_story_1 (created 2026-06-01T08:59:01Z)']);
    expect(row(2)).toEqual(['2', '2026-06-01T09:00:02.000Z', D.d1, 'planned', `rule thread, sink slack, order key ${STORY_CALL}`]);
    expect(row(5)).toEqual([
      '5',
      '2026-06-01T09:00:05.000Z',
      D.d1,
      'attempt 1 failed',
      '120 ms',
      'transient http_503: HTTP 503; next attempt at 2026-06-01T09:00:15.000Z',
    ]);
    expect(row(8)).toEqual(['8', '2026-06-01T09:00:07.000Z', D.d2, 'dead', 'render_failed: text: memory alloc limit exceeded, line:1, col:1']);
    expect(row(15)).toEqual(['15', '2026-06-01T09:00:12.000Z', D.d4, 'dead', 'http_404: HTTP 404: no such endpoint']);
    expect(row(17)).toEqual(['17', '2026-06-01T09:00:14.000Z', D.d4, 're-driven', 're-driven by id']);
    expect(row(18)).toEqual(['18', '2026-06-01T09:00:15.000Z', D.d4, 'attempt 2 succeeded', '55 ms']);
  });

  it('an unknown call id: exit 1, the id quoted in "no call \"CALL_ID\" in the log", nothing on stdout', async () => {
    for (const id of ['call_nope', STORY_CALL.toUpperCase(), 'evt_story_1']) {
      const result = await call(id, '--json');
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: `husky-relay: no call "${id}" in the log\n` });
    }
  }, 60_000);

  it('another call of the same log has its own story', async () => {
    const story = JSON.parse((await call(OTHER_CALL, '--json')).stdout) as typeof EXPECTED_STORY;
    expect(story.org_id).toBe('org_other');
    expect(story.events.map((e) => e.seq)).toEqual([3, 20]);
    expect(story.deliveries.map((d) => [d.rule_id, d.status, d.attempts.length])).toEqual([
      ['thread', 'pending', 0],
      ['thread', 'pending', 0],
      ['crm', 'pending', 0],
    ]);
  });

  it('works while serve runs on the same database, and reads the same story', async () => {
    const own = tempDir('husky-call-serve-');
    let serve: ServeProcess | undefined;
    try {
      // Given serve running on a log of its own (its dispatcher busy with the other call's deliveries)
      const story = await writeStory(own.dir);
      const env = cliEnv({ HUSKY_RELAY_RULES: story.rulesPath, SLACK_API_URL: 'http://127.0.0.1:9/' });
      serve = await startServe({ dbPath: story.dbPath, cwd: own.dir, env, timeoutMs: 30_000 });
      // When
      const result = await runCli(['--db', story.dbPath, 'call', STORY_CALL, '--json'], { cwd: own.dir, env });
      // Then
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(EXPECTED_STORY);
    } finally {
      await killServe(serve);
      own.cleanup();
    }
  }, 60_000);
});
