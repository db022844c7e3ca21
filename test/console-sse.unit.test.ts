import { EventEmitter } from 'node:events';
import type { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogReader } from '../src/log/seam.js';
import { LiveUpdates } from '../src/console/sse.js';

/**
 * The console's live stream's timing (README "Console"), on a fake clock: `log` at the first
 * poll after the log grows, once more when it has been quiet for as long as the pages reuse
 * status (`settleMs`), then nothing but a keep-alive comment every 15 s. (The stream over real
 * HTTP is `console-live.int.test.ts`.)
 */
const POLL_MS = 250;
const SETTLE_MS = 2_000;

let seq = 0;
const log = { lastSeq: async () => seq } as unknown as LogReader;

/** A request context as koa gives `open`, and what its stream said, with the (fake) time of each message. */
function page(): { ctx: Context; heard: { at: number; text: string }[]; close: () => void } {
  const req = Object.assign(new EventEmitter(), { socket: { setTimeout: () => {}, setKeepAlive: () => {} } });
  const ctx = { req, set: () => {} } as unknown as Context;
  return { ctx, heard: [], close: () => req.emit('close') };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  seq = 5;
});
afterEach(() => {
  vi.useRealTimers();
});

/** Opens a page on `live` and collects what its stream says, with the fake time of each message. */
async function openPage(live: LivePage['live']): Promise<LivePage> {
  const p = page();
  await live.open(p.ctx);
  (p.ctx.body as PassThrough).on('data', (chunk: Buffer) => p.heard.push({ at: Date.now(), text: chunk.toString() }));
  return { live, ...p };
}
interface LivePage {
  live: LiveUpdates;
  heard: { at: number; text: string }[];
  close: () => void;
}

describe('the live stream, on a fake clock', () => {
  it('says hello with the last seq, log at the first poll after a change, log again once quiet for settleMs, then only keep-alives', async () => {
    const live = new LiveUpdates(log, POLL_MS, SETTLE_MS);
    const p = await openPage(live);
    // written before the reader attached: read it off the buffer
    await vi.advanceTimersByTimeAsync(0);
    expect(p.heard.map((h) => h.text)).toEqual(['retry: 3000\nevent: hello\ndata: 5\n\n']);
    // the open settles counts a page closed moments ago may have left: log once, settleMs after the open
    await vi.advanceTimersByTimeAsync(SETTLE_MS);
    expect(p.heard.slice(1)).toEqual([{ at: SETTLE_MS, text: 'event: log\ndata: 5\n\n' }]);
    p.heard.length = 0;

    seq = 6; // appended at 2,100 ms
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(150);
    expect(p.heard).toEqual([{ at: 2_250, text: 'event: log\ndata: 6\n\n' }]);
    // quiet: not before settleMs after the change was seen, then once at the first poll after it
    await vi.advanceTimersByTimeAsync(SETTLE_MS - POLL_MS);
    expect(p.heard).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(p.heard.slice(1)).toEqual([{ at: 2_250 + SETTLE_MS, text: 'event: log\ndata: 6\n\n' }]);
    // and no more while the log stays quiet, but a keep-alive comment every 15 s of quiet polls
    await vi.advanceTimersByTimeAsync(15_000 - POLL_MS);
    expect(p.heard).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(p.heard.slice(2)).toEqual([{ at: 2_250 + SETTLE_MS + 15_000, text: ': keep-alive\n\n' }]);
    p.close();
  });

  it('stops polling when the last page closes, and reads the log again when a page opens', async () => {
    const live = new LiveUpdates(log, POLL_MS, SETTLE_MS);
    const first = await openPage(live);
    first.close();
    expect(vi.getTimerCount()).toBe(0);
    seq = 9; // appended while no page was open
    const second = await openPage(live);
    await vi.advanceTimersByTimeAsync(0);
    expect(second.heard.map((h) => h.text)).toEqual(['retry: 3000\nevent: hello\ndata: 9\n\n']);
    // nothing changed since the open: the only log is the settling one
    await vi.advanceTimersByTimeAsync(SETTLE_MS + POLL_MS);
    expect(second.heard.slice(1).map((h) => h.text)).toEqual(['event: log\ndata: 9\n\n']);
    second.close();
  });
});
