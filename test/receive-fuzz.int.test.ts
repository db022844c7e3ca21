import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/receive/verify-signature.js';
import { rawRequest } from './helpers/http.js';
import { SECRET, startTestRelay, type TestRelay } from './helpers/relay.js';

const RUNS = 200;

/** Any value a field could hold, including the right kind. */
const anyValue = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ minLength: 1 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

/** Objects shaped like an envelope, with each field possibly missing or of a random type. */
const envelopeLike = fc
  .record(
    {
      event_id: fc.oneof(fc.string({ minLength: 1 }).map((s) => `evt_${s}`), anyValue),
      event_type: fc.oneof(fc.constantFrom('call.completed', 'call.failed', 'call.future_type'), anyValue),
      created_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue),
      org_id: fc.oneof(fc.constant('org_abc_123'), anyValue),
      data: fc.oneof(
        fc.record(
          {
            call_id: fc.oneof(fc.constant('call_1'), anyValue),
            agent_id: fc.oneof(fc.constant('agent_alpha'), anyValue),
            status: fc.oneof(fc.constant('completed'), anyValue),
            summary: anyValue,
            extra: fc.jsonValue({ maxDepth: 3 }),
          },
          { requiredKeys: [] },
        ),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/**
 * A name (an id or a type): any unicode but U+0000 and unpaired surrogates, which both engines
 * refuse there (README "Faults"; PostgreSQL cannot store the one and merges the others). The
 * check is the UTF-8 round trip, which replaces an unpaired surrogate.
 */
const name = (unit: 'binary' | 'grapheme-ascii' = 'binary') =>
  fc.string({ minLength: 1, unit }).filter((s) => !s.includes('\u0000') && Buffer.from(s, 'utf8').toString('utf8') === s);

/** Valid envelopes with random contents: any unicode, extra fields, unknown types. */
const validEnvelope = fc
  .record({
    event_id: name(),
    event_type: fc.oneof(fc.constantFrom('call.initiated', 'call.completed', 'call.disallowed'), name('grapheme-ascii')),
    created_at: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('2100-01-01') }).map((d) => d.toISOString()),
    org_id: name(),
    data: fc.record({
      call_id: name(),
      agent_id: name('grapheme-ascii'),
      status: name('grapheme-ascii'),
      summary: fc.string({ unit: 'binary' }),
      extra: fc.jsonValue({ maxDepth: 4 }),
    }),
  })
  .map((o) => JSON.stringify(o));

/** A body as bytes: text, JSON of any shape, near-envelopes, or raw bytes. */
const anyBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  envelopeLike.map((s) => Buffer.from(s)),
  validEnvelope.map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
);

describe('POST /webhooks/husky with random signed bodies', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('never answers 5xx, keeps answering /healthz, and stores an event only when it answered 200', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(anyBody, async (body) => {
        // Given a random body, correctly signed
        const before = relay.log.lastSeq();
        // When it is posted
        const got = await rawRequest(relay.url, {
          path: '/webhooks/husky',
          headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) },
          body,
        });
        statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
        // Then the answer is a JSON client answer or a 200, never a server error
        expect(got.status).toBeLessThan(500);
        expect(got.body).toEqual(expect.any(Object));
        const stored = relay.log.read(before);
        if (got.status === 200 && got.body.duplicate !== true) {
          // a new event is stored once, with the exact bytes
          expect(stored).toHaveLength(1);
          expect(got.body.seq).toBe(before + 1);
          expect(stored[0]?.data).toMatchObject({ body: body.toString('utf8') });
        } else {
          expect(stored).toEqual([]);
          if (got.status === 200) expect(relay.log.bodyOf(got.body.event_id)).not.toBeNull();
          if (got.status !== 200) expect([400, 422]).toContain(got.status);
        }
        // And the process is still answering
        const health = await rawRequest(relay.url, { method: 'GET', path: '/healthz' });
        expect(health.status).toBe(200);
      }),
      { numRuns: RUNS },
    );
    // the generators reached both the accepting and the refusing paths
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  });

  it('accepts every well-formed envelope, whatever its contents, and stores its exact bytes', async () => {
    await fc.assert(
      fc.asyncProperty(validEnvelope, async (body) => {
        const before = relay.log.lastSeq();
        const got = await rawRequest(relay.url, {
          path: '/webhooks/husky',
          headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body, SECRET) },
          body,
        });
        expect(got.status).toBe(200);
        const eventId = (JSON.parse(body) as { event_id: string }).event_id;
        expect(got.body.event_id).toBe(eventId);
        if (got.body.duplicate === true) expect(relay.log.read(before)).toEqual([]);
        else expect(relay.log.read(before).map((e) => e.data)).toEqual([expect.objectContaining({ event_id: eventId, body })]);
      }),
      { numRuns: RUNS },
    );
  });
});
