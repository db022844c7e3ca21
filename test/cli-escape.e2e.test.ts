import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';
import { envelopeOf, TRACE_RULES } from './helpers/replay-scenario.js';

// what a hostile sender puts in ids: a title change, a bell, clear screen, a colour, a line
// break that would forge a table row, a C1 CSI, a bidi override, a line separator
const EVENT_ID = 'evt_\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\n9999  2026-01-01  forged.row\r\u009b1m\u202Eevil\u2028';
const CALL_ID = 'call_\u001b[5mblink\t';
const DELIVERY_ID = 'dlv_\u001b[31m\u0000';
const ERROR_CODE = 'http_\u001b[1m';
const ERROR_MESSAGE = 'refused\n\u001b[8mhidden';

/** A character the terminal would act on; a newline is allowed only as our own line break. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('human tables escape control characters in data (issue 11 item 17)', () => {
  let temp: ReturnType<typeof tempDir>;
  let dbPath: string;
  const cli = (...args: string[]) =>
    runCli(['--db', dbPath, '--rules', join(temp.dir, 'rules.yaml'), ...args], { cwd: temp.dir, env: cliEnv(), timeoutMs: 15_000 });

  beforeEach(() => {
    temp = tempDir('husky-escape-');
    dbPath = join(temp.dir, 'relay.db');
    writeFileSync(join(temp.dir, 'rules.yaml'), TRACE_RULES);
    // Given a log whose event id, call id, delivery id and error hold control characters
    const log = new SqliteLog(dbPath);
    const envelope = { ...envelopeOf(EVENT_ID, 'call.completed', 1), data: { ...envelopeOf(EVENT_ID, 'call.completed', 1).data, call_id: CALL_ID } };
    const seq = log.append([
      {
        type: 'event.received',
        data: { event_id: EVENT_ID, event_type: 'call.completed', org_id: 'org_1', created_at: envelope.created_at, received_at: '2026-06-01T10:00:00.000Z', call_id: CALL_ID, body: JSON.stringify(envelope) },
      },
    ])[0]!.seq!;
    log.append([
      {
        type: 'delivery.planned',
        data: { delivery_id: DELIVERY_ID, event_id: EVENT_ID, event_seq: seq, event_type: 'call.completed', rule_id: 'other', action_index: 0, sink: 'console', request: { text: 'hi' }, order_key: null, rules_hash: 'h' },
      },
    ]);
    log.append([
      {
        type: 'delivery.attempted',
        data: { delivery_id: DELIVERY_ID, attempt: 1, outcome: 'failed', duration_ms: 3, error: { kind: 'transient', code: ERROR_CODE, message: ERROR_MESSAGE }, retry_at: '2026-06-01T10:01:00.000Z', result: null },
      },
    ]);
    log.close();
  });
  afterEach(() => temp.cleanup());

  const expectPrintable = (stdout: string, lines: number) => {
    expect(stdout).not.toMatch(RAW_CONTROL);
    expect(stdout.trimEnd().split('\n')).toHaveLength(lines);
  };

  it('log, deliveries and status show visible escapes, one table row per entry', async () => {
    // When the human tables are printed
    const log = await cli('log');
    const deliveries = await cli('deliveries');
    const status = await cli('status');
    // Then no control character reaches the terminal, no row is forged, and the ids read as escapes
    expect(log.code).toBe(0);
    expectPrintable(log.stdout, 4);
    expect(log.stdout).toContain('evt_\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred\\n9999  2026-01-01  forged.row\\r\\u009b1m\\u202eevil\\u2028');
    expect(log.stdout).toContain('call=call_\\u001b[5mblink\\t');
    expect(log.stdout).toContain('dlv_\\u001b[31m\\u0000 #1 failed transient http_\\u001b[1m');
    expectPrintable(deliveries.stdout, 2);
    expect(deliveries.stdout).toContain('refused\\n\\u001b[8mhidden');
    expect(status.code).toBe(0);
    expect(status.stdout).not.toMatch(RAW_CONTROL);
    expect(status.stdout).toContain('transient http_\\u001b[1m (1 in a row)');
  });

  it('call shows the same escapes in its summary, deliveries and timeline, one row per entry', async () => {
    // When the call's story is printed
    const call = await cli('call', CALL_ID);
    // Then: summary (2 lines), blank, deliveries (2), blank, timeline (header and 3 entries)
    expect(call.code).toBe(0);
    expectPrintable(call.stdout, 10);
    expect(call.stdout).toContain('call call_\\u001b[5mblink\\t  org org_1');
    expect(call.stdout).toContain('evt_\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred\\n9999  2026-01-01  forged.row\\r\\u009b1m\\u202eevil\\u2028');
    expect(call.stdout).toContain('transient http_\\u001b[1m: refused\\n\\u001b[8mhidden');
    // and an unknown id is named with escapes in the one-line error
    const unknown = await cli('call', 'call_\u001b[2J\nnope');
    expect(unknown).toMatchObject({ code: 1, stderr: 'husky-relay: no call "call_\\u001b[2J\\nnope" in the log\n' });
  });

  it('replay --dry-run and replay --verify lines are escaped too', async () => {
    // Given projections that drifted for that delivery
    const log = new SqliteLog(dbPath);
    log.db.prepare(`UPDATE p_deliveries SET status = 'dead' WHERE delivery_id = ?`).run(DELIVERY_ID);
    log.close();
    // When a dry run and a verify print their lines
    const dry = await cli('replay', '--dry-run');
    const verify = await cli('replay', '--verify');
    // Then they hold the escapes, not the characters
    expect(dry.code).toBe(0);
    expect(dry.stdout).not.toMatch(RAW_CONTROL);
    expect(dry.stdout).toMatch(/^trace\s+console\s+call\.completed evt_\\u001b\]0;pwned/m);
    expect(verify.code).toBe(1);
    expect(verify.stdout).not.toMatch(RAW_CONTROL);
    expect(verify.stdout).toContain('p_deliveries delivery_id=dlv_\\u001b[31m\\u0000: status live "dead"');
  });

  it('--json output is unchanged: the exact values, JSON-escaped', async () => {
    // When the same data is printed as JSON
    const lines = (await cli('log', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { data: Record<string, unknown> });
    const deliveries = JSON.parse((await cli('deliveries', '--json')).stdout) as { delivery_id: string; event_id: string }[];
    // Then the values are exactly those logged
    expect(lines[0]!.data['event_id']).toBe(EVENT_ID);
    expect(lines[0]!.data['call_id']).toBe(CALL_ID);
    expect(deliveries[0]).toMatchObject({ delivery_id: DELIVERY_ID, event_id: EVENT_ID });
  });
});
