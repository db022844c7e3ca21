import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { signIn } from './helpers/browser.js';
import { postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';

/**
 * The console's live stream (README "Console"): the pages reuse `status` for up to
 * `DEFAULTS.console.statusCacheMs` while the log grows, so a list refreshed at a change may show
 * counts from just before it. Once the log has been quiet that long, the stream says `log` once
 * more, and the lists refresh with the last change in them: a sink that paused (after which
 * nothing is appended for minutes) shows as paused on an open page.
 */
const UI_TOKEN = 'console-token-for-live-0123456789';
let relay: TestRelay;
let cleanup: () => void;

beforeAll(async () => {
  const temp = tempDir();
  cleanup = temp.cleanup;
  relay = await startRoutingRelay({
    dir: temp.dir,
    rulesPath: writeRules(temp.dir, 'version: 1\nsinks:\n  out: { type: log }\nrules: []\n'),
    ui: { token: UI_TOKEN, livePollMs: 50 },
  });
}, 30_000);
afterAll(async () => {
  await relay?.stop();
  cleanup?.();
});

describe('the live stream', () => {
  it('says log at a change, and once more when the log has been quiet for as long as the pages reuse status', async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const abort = new AbortController();
    const answer = await fetch(`${relay.url}/ui/stream`, { headers: { cookie }, signal: abort.signal });
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const heard: { at: number; seq: number }[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of answer.body!) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        for (const m of text.matchAll(/event: log\ndata: (\d+)\n\n/g)) heard.push({ at: Date.now(), seq: Number(m[1]) });
        text = text.slice(text.lastIndexOf('\n\n') + 2);
      }
    })().catch(() => {});
    try {
      // let the settling of the stream's own start pass first
      await new Promise((resolve) => setTimeout(resolve, DEFAULTS.console.statusCacheMs + 300));
      heard.length = 0;
      const seq = await postEvent(relay, makeEvent());
      await until(() => heard.length >= 2, { what: 'log twice', timeoutMs: DEFAULTS.console.statusCacheMs + 3000 });
      // the same last seq both times (nothing else was appended by the routing), the second after the pages' reuse
      const last = heard.at(-1)!.seq;
      expect(last).toBeGreaterThanOrEqual(seq);
      expect(heard.slice(-2).map((h) => h.seq)).toEqual([last, last]);
      expect(heard.at(-1)!.at - heard.at(-2)!.at).toBeGreaterThanOrEqual(DEFAULTS.console.statusCacheMs - 100);
      // and no more while the log stays quiet
      const count = heard.length;
      await new Promise((resolve) => setTimeout(resolve, DEFAULTS.console.statusCacheMs + 300));
      expect(heard.length).toBe(count);
    } finally {
      abort.abort();
      await reading;
    }
  });
});
