import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { rawRequest } from './helpers/http.js';
import { until } from './helpers/pipeline.js';
import { makeEvent, SECRET, startTestRelay, type TestRelay } from './helpers/relay.js';
import { openConnection, postHead, send, type RawAnswerHead, type RawConnection } from './helpers/socket.js';
import { sign } from '../src/receive/verify-signature.js';

const MiB = 1024 * 1024;
const CAP = DEFAULTS.http.maxReadingBytes;

/**
 * The cap on bytes of bodies being read at once (issue 11 item 4, residual D): what is asserted
 * is the cap itself, read from /metrics as an operator would, and the answers past it; no timings.
 */
describe('bytes being read are capped (DEFAULTS.http.maxReadingBytes, 64 MiB)', () => {
  let relay: TestRelay;
  let open: RawConnection[] = [];
  beforeEach(async () => {
    relay = await startTestRelay();
  });
  afterEach(async () => {
    for (const c of open) c.socket.destroy();
    open = [];
    await relay.stop();
  });

  const readingBytes = async () => {
    const text = (await rawRequest(relay.url, { method: 'GET', path: '/metrics' })).text;
    return Number(/^husky_relay_http_reading_bytes (\d+)$/m.exec(text)?.[1]);
  };

  /** `count` uploads that send their head and then nothing: each holds its reservation. */
  async function stalled(count: number, headers: Record<string, string | number>): Promise<RawAnswerHead[]> {
    const answers: RawAnswerHead[] = [];
    for (let i = 0; i < count; i += 1) {
      const c = await openConnection(relay.url);
      open.push(c);
      c.answer.then((a) => answers.push(a), () => {});
      await send(c.socket, postHead({ 'content-type': 'application/json', 'x-husky-signature': '00', ...headers }));
    }
    return answers;
  }

  it('is low enough that the worst case stays bounded: 64 MiB, and --max-body at most half of it', () => {
    expect(CAP).toBeLessThanOrEqual(64 * MiB);
    // a compressed upload reserves twice the body limit; alone it may pass the cap, so the limit is bounded too
    expect(2 * DEFAULTS.http.maxBodyLimitBytes).toBeLessThanOrEqual(CAP);
  });

  it('500 stalled unsigned 1 MiB uploads: 64 are read, 436 get 503 server_busy at once; closed, the cap is free again', async () => {
    // When 500 clients each declare 1 MiB and send nothing more
    const answers = await stalled(500, { 'content-length': MiB });
    // Then 64 MiB are being read, and every other one was answered 503 and closed
    await until(async () => answers.length === 500 - CAP / MiB && (await readingBytes()) === CAP, { what: 'the cap to fill', timeoutMs: 15_000 });
    expect(answers.map((a) => [a.status, a.body.error, a.headers['connection']])).toEqual(answers.map(() => [503, 'server_busy', 'close']));
    // And while it is full, a chunked upload (it may grow to --max-body) is refused too
    const chunked = await stalled(1, { 'transfer-encoding': 'chunked' });
    await until(() => chunked.length === 1, { what: 'the chunked upload to be answered' });
    expect(chunked[0]).toMatchObject({ status: 503, body: { error: 'server_busy' } });
    // When the clients go away
    for (const c of open) c.socket.destroy();
    // Then what they held is given back, and a webhook is read and stored
    await until(async () => (await readingBytes()) === 0, { what: 'the reservations to be given back' });
    const body = makeEvent();
    const stored = await rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) }, body });
    expect(stored.status).toBe(200);
  }, 30_000);

  it('a compressed upload reserves twice (the body and what it decodes to): 32 of them fill the cap', async () => {
    const answers = await stalled(33, { 'content-length': MiB, 'content-encoding': 'gzip' });
    await until(async () => answers.length === 1 && (await readingBytes()) === CAP, { what: 'the cap to fill' });
    expect(answers[0]).toMatchObject({ status: 503, body: { error: 'server_busy' } });
  });
});
