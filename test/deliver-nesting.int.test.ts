import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/defaults.js';
import { exceedsDepth } from '../src/json-depth.js';
import { startFakeHttp, type FakeHttp } from './fakes/fake-http.js';
import { allHaveStatus, deliveriesOf, postEvent, until } from './helpers/pipeline.js';
import { routingRelayHarness } from './helpers/relay-harness.js';
import { makeEvent } from './helpers/relay.js';

/*
 * What ingest accepts, delivery delivers (residual H): an event nested to the ingest limit (64
 * levels, the envelope being the first) is wrapped by the request that sends it (the default
 * body is the envelope), so the planned request is deeper than 64. No depth check on the way
 * may refuse it.
 */

const LIMIT = DEFAULTS.http.maxJsonDepth;
/** `n` levels of arrays around `inner`. */
const arrays = (n: number, inner = '"bottom"') => '['.repeat(n) + inner + ']'.repeat(n);
/** An envelope nested exactly to the ingest limit: envelope 1, data 2, data.x 62 more. */
const deepest = () => makeEvent({}, { x: '__X__' }).replace('"__X__"', arrays(LIMIT - 2));

/** `levels` nested YAML mappings (`a:` in each), a template at the bottom. */
const nestedBody = (levels: number) =>
  Array.from({ length: levels }, (_, i) => `${'  '.repeat(i + 5)}a${i}:`).join('\n') + ` "{{ data.call_id }}"`;

let receiver: FakeHttp;
beforeAll(async () => (receiver = await startFakeHttp()));
afterAll(() => receiver.close());

describe('an event at the ingest depth limit is planned and delivered', () => {
  const harness = routingRelayHarness();
  afterEach(() => receiver.reset());

  it('through an http sink with the default body: the receiver gets the envelope with its nesting, byte for byte as JSON', async () => {
    // Given a relay sending every event to an http sink, the default body (the envelope), and a body template 56 levels deep
    const rules = `version: 1
sinks:
  audit: { type: http, url: "${receiver.url}" }
rules:
  - id: audit
    on: "*"
    actions:
      - sink: audit
      - sink: audit
        body:
${nestedBody(56)}
`;
    const { relay } = await harness.start(rules);
    const body = deepest();
    expect(exceedsDepth(JSON.parse(body), LIMIT)).toBe(false);
    expect(exceedsDepth(JSON.parse(body), LIMIT - 1)).toBe(true);
    // When it arrives (ingest accepts it)
    await postEvent(relay, body);
    // Then both deliveries succeed
    await until(() => allHaveStatus(relay.log, 'succeeded', 2), { what: 'both deliveries', describe: () => [deliveriesOf(relay.log).map((d) => `${d.status} ${d.last_error}`), relay.lines.slice(-6)] });
    // And the receiver got the envelope with all its levels, and the template's 56 levels
    const envelope = receiver.requests.find((r) => (r.body as Record<string, unknown>)['event_id'] !== undefined);
    const templated = receiver.requests.find((r) => r !== envelope);
    expect(envelope!.body).toEqual(JSON.parse(body));
    let bottom: unknown = templated!.body;
    for (let i = 0; i < 56; i += 1) bottom = (bottom as Record<string, unknown>)[`a${i}`];
    expect(bottom).toBe(JSON.parse(body).data.call_id);
  });
});
