import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { NewEntry } from '../src/log/types.js';
import { parseRetention, sweepAndTruncate } from '../src/privacy/retention.js';
import { tempDir } from './helpers/relay.js';

/** Retention (README "Personal data"), on an injected clock: no sleeping. */
let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir();
});
afterEach(() => temp.cleanup());

/** The WAL's size, 0 when there is none. */
function walSize(dbPath: string): number {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
}

/** An event of its own call, with a transcript of `size` characters. */
function event(n: number, at: string, size: number): NewEntry {
  const body = JSON.stringify({
    event_id: `evt_${n}`,
    event_type: 'call.completed',
    created_at: at,
    org_id: 'org_1',
    data: { call_id: `call_${n}`, agent_id: 'a', status: 'completed', transcript: `${n} `.padEnd(size, 'lorem ipsum ') },
  });
  return { type: 'event.received', data: { event_id: `evt_${n}`, event_type: 'call.completed', org_id: 'org_1', created_at: at, received_at: at, call_id: `call_${n}`, body } };
}

describe('serve --retention (README "Personal data")', () => {
  it('parses 90d, 12h, 30m and 2s, and names the option for anything else', () => {
    expect([parseRetention('90d'), parseRetention('12h'), parseRetention('30m'), parseRetention('2s')]).toEqual([7_776_000_000, 43_200_000, 1_800_000, 2000]);
    expect(() => parseRetention('soon', 'HUSKY_RELAY_RETENTION')).toThrow('HUSKY_RELAY_RETENTION: "soon" is not a duration like 90d, 12h, 30m or 2s');
    expect(() => parseRetention('0s')).toThrow('--retention');
  });

  it('reads a duration as the rules file does (one parser), and days; under a second is refused', async () => {
    const { parseDuration } = await import('../src/rules/duration.js');
    expect(parseDuration('1d')).toBeNull();
    expect(parseRetention(' 1d ')).toBe(86_400_000);
    expect(parseRetention('1500ms')).toBe(1500);
    expect(() => parseRetention('999ms')).toThrow('--retention: "999ms" is not a duration like 90d, 12h, 30m or 2s');
    expect(() => parseRetention('1.5h')).toThrow('--retention');
  });

  it('with a 2 s window, a steady stream of calls keeps the file size flat once the window is full', async () => {
    // Given a clock moved by hand, and a log that keeps 2 s of calls
    let now = Date.parse('2026-06-01T10:00:00Z');
    const dbPath = join(temp.dir, 'relay.db');
    const store = new SqliteStore(dbPath, { now: () => new Date(now) });
    const sizes: number[] = [];
    let n = 0;
    // When 20 calls of 8 KB arrive every second for 40 s, with a sweep each second
    for (let second = 0; second < 40; second += 1) {
      for (let i = 0; i < 20; i += 1) await store.writer.append([event((n += 1), new Date(now).toISOString(), 8192)]);
      now += 1000;
      await sweepAndTruncate(store.privacy, new Date(now), parseRetention('2s'));
      sizes.push(statSync(dbPath).size + walSize(dbPath));
    }
    // Then 800 calls (6.4 MB of payloads, and their facts) never pile up: once the window filled
    // (payloads erased after 2 s, facts removed a window after that), the file stops growing:
    // the last 20 seconds (400 calls) add not one byte to the largest size before them
    const settled = Math.max(...sizes.slice(10, 20));
    expect(Math.max(...sizes.slice(20))).toBeLessThanOrEqual(settled);
    expect(settled).toBeLessThan(1_200_000);
    // and the calls outside the window are erased, those inside it are not
    const calls = await store.privacy.erasable([`call_${n}`, `call_${n - 50}`, `call_${n - 200}`]);
    expect(calls.map((c) => [c.call_id, c.erased])).toEqual([
      [`call_${n}`, false],
      [`call_${n - 50}`, true],
    ]);
    expect((await store.privacy.verifyChain()).ok).toBe(true);
    await store.close();
  });
});
