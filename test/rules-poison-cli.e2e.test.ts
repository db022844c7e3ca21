import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { runCli } from './helpers/cli.js';
import { deliveriesOf, entriesOf } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

/** The poison pill: 12 KB, `data.x` 6,000 levels of nested lists. */
const DEEP = `{"event_id":"evt_deep","event_type":"call.completed","created_at":"2026-06-01T10:00:00Z","org_id":"org","data":{"call_id":"call_deep","agent_id":"a","status":"completed","x":${'['.repeat(6000)}${']'.repeat(6000)}}}`;

const RULES = `version: 1
sinks:
  audit: { type: http, url: "https://audit.example/in" }
  console: { type: log }
rules:
  - id: audit
    on: "*"
    actions: [{ sink: audit }]
  - id: trace
    on: "*"
    actions: [{ sink: console, text: "{{ data.call_id }}" }]
`;

describe('an event nested 6,000 deep, on the command line', () => {
  it('rules test shows the http delivery sending the event as it came (byte for byte, nothing to nest), and the rest; exit 0', async () => {
    // Given
    writeFileSync(join(temp.dir, 'rules.yaml'), RULES);
    writeFileSync(join(temp.dir, 'deep.json'), DEEP);
    // When
    const result = await runCli(['--rules', 'rules.yaml', 'rules', 'test', 'deep.json'], { cwd: temp.dir });
    // Then
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('action 0 → audit [http]');
    expect(result.stdout).toContain(`  body, sent byte for byte (the event as received, ${DEEP.length} bytes):\n    ${DEEP}`);
    expect(result.stdout).not.toContain('FAILS');
    expect(result.stdout).toContain('"text": "call_deep"');
  });

  it('replay plans it, sent as it came, and plans the events after it', async () => {
    // Given a log that took the event before ingest refused such nesting
    const dbPath = join(temp.dir, 'relay.db');
    const log = new SqliteLog(dbPath);
    const received = (id: string, body: string) => ({
      type: 'event.received' as const,
      data: { event_id: id, event_type: 'call.completed', org_id: 'org', created_at: '2026-06-01T10:00:00Z', received_at: '2026-06-01T10:00:01Z', call_id: 'c', body },
    });
    log.append([received('evt_deep', DEEP), received('evt_next', DEEP.replace('evt_deep', 'evt_next').replace(/"x":\[+\]+/, '"x":1'))]);
    log.close();
    // When
    const result = await runCli(['--db', dbPath, '--rules', 'rules.yaml', 'replay'], { cwd: temp.dir });
    // Then
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.code).toBe(0);
    const after = new SqliteLog(dbPath);
    try {
      const statuses = deliveriesOf(after).map((d) => `${d.event_id}/${d.rule_id}: ${d.status}`);
      expect(statuses.sort()).toEqual(['evt_deep/audit: pending', 'evt_deep/trace: pending', 'evt_next/audit: pending', 'evt_next/trace: pending']);
      expect(entriesOf(after, 'delivery.dead')).toEqual([]);
    } finally {
      after.close();
    }
  });
});
