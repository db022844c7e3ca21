import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/log/sqlite/sqlite-store.js';
import type { NewEntry } from '../src/log/types.js';
import { parseRetention, startRetention, sweepAndTruncate } from '../src/privacy/retention.js';
import { damageEntryData } from './helpers/damage.js';
import { receivedEntry } from './helpers/entries.js';
import { captureLogger, tempDir } from './helpers/relay.js';

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

/** Event `type` of call `call`, its transcript `size` characters. */
function event(call: number, type: string, at: string, size: number): NewEntry {
  const id = `evt_${call}_${type}`;
  const body = JSON.stringify({
    event_id: id,
    event_type: type,
    created_at: at,
    org_id: 'org_1',
    data: { call_id: `call_${call}`, agent_id: 'a', transcript: `${call} `.padEnd(size, 'lorem ipsum ') },
  });
  return { type: 'event.received', data: { event_id: id, event_type: type, org_id: 'org_1', created_at: at, received_at: at, call_id: `call_${call}`, body } };
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
    // a window so long that two of them before now is no date (every sweep failed with "Invalid time value")
    expect(parseRetention('36500d')).toBe(36_500 * 86_400_000);
    expect(() => parseRetention('99999999d')).toThrow('--retention: "99999999d" is longer than retention can keep (at most 36500d, a hundred years); leave retention off to keep everything');
    expect(() => parseRetention('36501d', 'HUSKY_RELAY_RETENTION')).toThrow('HUSKY_RELAY_RETENTION: "36501d" is longer');
  });

  it('with a 2 s window, a steady stream of calls keeps the file size flat once the window is full', async () => {
    // Given a clock moved by hand, and a log that keeps 2 s of calls
    let now = Date.parse('2026-06-01T10:00:00Z');
    const dbPath = join(temp.dir, 'relay.db');
    const store = new SqliteStore(dbPath, { now: () => new Date(now) });
    const sizes: number[] = [];
    // When 20 calls start every second for 40 s, each initiated, answered 2 s later and completed
    // (8 KB) 2 s after that, so that calls always overlap, with a sweep each second
    const at = () => new Date(now).toISOString();
    for (let second = 0; second < 40; second += 1) {
      for (let i = 0; i < 20; i += 1) {
        await store.writer.append([event(second * 20 + i, 'call.initiated', at(), 256)]);
        if (second >= 2) await store.writer.append([event((second - 2) * 20 + i, 'call.answered', at(), 256)]);
        if (second >= 4) await store.writer.append([event((second - 4) * 20 + i, 'call.completed', at(), 8192)]);
      }
      now += 1000;
      await sweepAndTruncate(store.privacy, new Date(now), parseRetention('2s'));
      sizes.push(statSync(dbPath).size + walSize(dbPath));
    }
    // Then 800 calls (6.4 MB of payloads, and their facts) never pile up: once the window filled
    // (payloads erased 2 s after a call's last event, facts removed when 4 s old), the file stops
    // growing: the last 20 seconds (400 calls) add not one byte to the largest size before them
    const settled = Math.max(...sizes.slice(10, 20));
    expect(Math.max(...sizes.slice(20))).toBeLessThanOrEqual(settled);
    expect(settled).toBeLessThan(1_500_000);
    // and the calls outside the window are erased, those inside it are not, those past two windows gone
    const last = 39 * 20;
    const calls = await store.privacy.erasable([`call_${last}`, 'call_600', 'call_200']);
    expect(calls.map((c) => [c.call_id, c.erased])).toEqual([
      [`call_${last}`, false],
      ['call_600', true],
    ]);
    expect((await store.verify()).differences).toEqual([]);
    expect((await store.privacy.verifyChain()).ok).toBe(true);
    await store.close();
  });

  it('a damaged entry (not JSON) the sweep reads: the failed sweep names its seq and what to do', async () => {
    // Given a log where call cx was erased, its call.erased entry (seq 3) since damaged on disk
    let now = Date.parse('2026-06-01T10:00:00Z');
    const dbPath = join(temp.dir, 'relay.db');
    let store = new SqliteStore(dbPath, { now: () => new Date(now) });
    await store.writer.append([receivedEntry({ call_id: 'cx' })]);
    await store.writer.append([receivedEntry({ call_id: 'cy' })]);
    await store.privacy.erase({ callIds: ['cx'], reason: 'asked', by: 'test', downstream: false });
    now += 1000;
    await store.writer.append([receivedEntry()]);
    await store.close();
    damageEntryData(dbPath, 3);
    store = new SqliteStore(dbPath, { now: () => new Date(now) });
    // When a sweep of a 2 s window runs past it
    now += 10_000;
    const { logger, lines } = captureLogger();
    const retention = startRetention({ privacy: store.privacy, windowMs: 2000, now: () => new Date(now), logger, everyMs: 3_600_000 });
    await retention.sweep();
    await retention.stop();
    await store.close();
    // Then its one error line names the entry and what to do, not a bare "malformed JSON"
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; seqs?: number[] }).filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.seqs).toEqual([3]);
    expect(errors[0]!.msg).toBe(
      'retention: the sweep failed; it runs again at the next tick: entry 3 of the log is damaged: its data is not valid JSON; run `husky-relay log --verify` to check the whole log, then stop serve and restore the latest backup (README: Backups)',
    );
  });
});
