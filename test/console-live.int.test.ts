import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  // its timing (log again once quiet for statusCacheMs, keep-alives) is console-sse.unit.test.ts, on a fake clock
  it('is an event stream that says log, with the last seq, soon after an event is appended', async () => {
    const { cookie } = await signIn(relay.url, UI_TOKEN);
    const abort = new AbortController();
    const answer = await fetch(`${relay.url}/ui/stream`, { headers: { cookie }, signal: abort.signal });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const heard: number[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of answer.body!) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        for (const m of text.matchAll(/event: log\ndata: (\d+)\n\n/g)) heard.push(Number(m[1]));
        text = text.slice(text.lastIndexOf('\n\n') + 2);
      }
    })().catch(() => {});
    try {
      const seq = await postEvent(relay, makeEvent());
      await until(() => heard.some((s) => s >= seq), { what: 'log with the new seq', timeoutMs: 5_000 });
    } finally {
      abort.abort();
      await reading;
    }
  });
});
