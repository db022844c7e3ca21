import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/log/sqlite/group-commit.js';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { makeEvent, SECRET, startTestRelay, type TestRelay } from './helpers/relay.js';

const OLD = `old-${SECRET}`;

describe('webhook secrets stay out of the logs', () => {
  let relay: TestRelay;
  beforeEach(async () => {
    relay = await startTestRelay({ secrets: () => [SECRET, OLD] });
  });
  afterEach(async () => {
    await relay.stop();
  });

  it('no log line holds a secret or a valid signature, whatever the requests', async () => {
    // Given a relay logging at debug level, with two secrets (a rotation)
    const body = makeEvent();
    const goodSignature = sign(body, SECRET);
    const requests: Array<Record<string, string>> = [
      { 'x-husky-signature': goodSignature },
      { 'x-husky-signature': sign(body, OLD) },
      { 'x-husky-signature': sign(body, 'wrong') },
      { 'x-husky-signature': SECRET }, // a confused sender puts the secret itself in the header
      { 'x-husky-signature': `sha256=${OLD}` },
      {},
    ];
    // When good, bad and malformed requests arrive, and a commit fails
    for (const headers of requests) {
      await rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', ...headers }, body });
    }
    await rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'text/plain' }, body });
    const other = makeEvent();
    // (the commit runs on the writer thread's connection; pragmas are per connection)
    const writer = GroupCommit.forPath(relay.dbPath)!;
    await writer.debugPragma('query_only = 1');
    expect((await relay.postSigned(other, OLD)).status).toBe(503);
    await writer.debugPragma('query_only = 0');
    await rawRequest(relay.url, { method: 'GET', path: '/metrics' });
    // Then the operator sees what happened, but no secret
    const text = relay.lines.join('\n');
    expect(text).toContain('invalid_signature');
    expect(text).toContain('log unavailable');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(OLD);
    expect(text).not.toContain(goodSignature);
  });

  it('the answers to refused requests do not echo the secret or the expected signature', async () => {
    const body = makeEvent();
    const answers = await Promise.all(
      [sign(body, 'wrong'), SECRET, 'x'].map((signature) =>
        rawRequest(relay.url, { path: '/webhooks/husky', headers: { 'content-type': 'application/json', 'x-husky-signature': signature }, body }),
      ),
    );
    for (const answer of answers) {
      expect(answer.body).toEqual({ error: 'invalid_signature' });
      expect(answer.text).not.toContain(sign(body, SECRET));
    }
  });
});
