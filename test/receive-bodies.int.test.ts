import { createGzip, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, makeEvent, startTestRelay, type TestRelay } from './helpers/relay.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Headers for `sent` bytes, signed over `signed` (what HuskyVoice signs: the JSON text). */
const headers = (signed: Buffer | string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'x-husky-signature': sign(signed, SECRET),
  ...extra,
});

/** `mib` MiB of zeros, gzipped a MiB at a time (a zip bomb: a few hundred KB that inflate to all of it). */
async function gzipBomb(mib: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve) => gzip.on('end', resolve));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i += 1) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  gzip.end();
  await ended;
  return Buffer.concat(parts);
}

describe('bodies as senders produce them (issue 12, item 7)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  const post = (body: Buffer, h: Record<string, string>) => rawRequest(relay.url, { path: '/webhooks/husky', headers: h, body });

  it('a UTF-8 BOM before the JSON, signed over the bytes as sent: 200, stored without the BOM', async () => {
    // Given an event preceded by a byte order mark, signed over exactly those bytes
    const json = makeEvent();
    const sent = Buffer.concat([BOM, Buffer.from(json)]);
    // When it is posted
    const got = await post(sent, headers(sent));
    // Then it is accepted, its envelope read, and the log holds the JSON text (the BOM is not JSON)
    expect(got).toMatchObject({ status: 200, body: { ok: true, event_id: JSON.parse(json).event_id } });
    expect(relay.log.read(got.body.seq - 1)[0]?.data).toMatchObject({ body: json });
  });

  it('a BOM signed as if it were not there: 401, the signature covers the bytes as sent', async () => {
    const json = makeEvent();
    const got = await post(Buffer.concat([BOM, Buffer.from(json)]), headers(json));
    expect({ status: got.status, body: got.body }).toEqual({ status: 401, body: { error: 'invalid_signature' } });
  });

  const encodings: Array<{ name: string; encoding: string; encode: (b: Buffer) => Buffer }> = [
    { name: 'gzip', encoding: 'gzip', encode: (b) => gzipSync(b) },
    { name: 'x-gzip', encoding: 'x-gzip', encode: (b) => gzipSync(b) },
    { name: 'GZIP in capitals', encoding: 'GZIP', encode: (b) => gzipSync(b) },
    { name: 'deflate (zlib)', encoding: 'deflate', encode: (b) => deflateSync(b) },
    { name: 'deflate sent raw', encoding: 'deflate', encode: (b) => deflateRawSync(b) },
    { name: 'identity', encoding: 'identity', encode: (b) => b },
  ];

  it.each(encodings)('Content-Encoding: $encoding ($name), signed over the JSON: 200, the decoded JSON stored', async ({ encoding, encode }) => {
    const json = Buffer.from(makeEvent({}, { summary: 'Q&A '.repeat(200) }));
    const got = await post(encode(json), headers(json, { 'content-encoding': encoding }));
    expect(got.status).toBe(200);
    expect(relay.log.read(got.body.seq - 1)[0]?.data).toMatchObject({ body: json.toString('utf8') });
  });

  it('gzip whose JSON starts with a BOM: 200', async () => {
    const sent = Buffer.concat([BOM, Buffer.from(makeEvent())]);
    const got = await post(gzipSync(sent), headers(sent, { 'content-encoding': 'gzip' }));
    expect(got.status).toBe(200);
  });

  it('gzip signed over the compressed bytes: 401 (the signature is over the JSON, as `openssl dgst` signs it)', async () => {
    const compressed = gzipSync(makeEvent());
    const got = await post(compressed, headers(compressed, { 'content-encoding': 'gzip' }));
    expect({ status: got.status, body: got.body }).toEqual({ status: 401, body: { error: 'invalid_signature' } });
  });

  it.each(['br', 'compress', 'zstd', 'gzip, br', 'gzip, gzip', 'snappy'])('Content-Encoding: %s → 415 unsupported_content_encoding, nothing stored', async (encoding) => {
    const json = makeEvent();
    const before = relay.log.lastSeq();
    const got = await post(Buffer.from(json), headers(json, { 'content-encoding': encoding }));
    expect({ status: got.status, body: got.body }).toEqual({ status: 415, body: { error: 'unsupported_content_encoding' } });
    expect(relay.log.lastSeq()).toBe(before);
  });

  it('bytes that are not what Content-Encoding says: 400 invalid_content_encoding (not a signature error)', async () => {
    const json = makeEvent();
    const got = await post(Buffer.from(json), headers(json, { 'content-encoding': 'gzip' }));
    expect({ status: got.status, body: got.body }).toEqual({ status: 400, body: { error: 'invalid_content_encoding' } });
    const truncated = gzipSync(json).subarray(0, 20);
    expect((await post(truncated, headers(json, { 'content-encoding': 'gzip' }))).status).toBe(400);
  });

  it('a zip bomb (256 MiB of zeros in ~260 KB): 413 without inflating it into memory', async () => {
    // Given a small gzip body that inflates far past the 1 MiB body limit
    const bomb = await gzipBomb(256);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    // When it is posted (its signature does not matter: the size is checked first)
    const got = await post(bomb, headers(bomb, { 'content-encoding': 'gzip' }));
    // Then it is too large, and decoding it stopped at the limit: memory did not take the 256 MiB
    expect({ status: got.status, body: got.body }).toEqual({ status: 413, body: { error: 'payload_too_large' } });
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    // And the relay goes on
    const next = makeEvent();
    expect((await post(Buffer.from(next), headers(next))).status).toBe(200);
  });
});
