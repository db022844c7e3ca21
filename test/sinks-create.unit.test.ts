import { describe, expect, it } from 'vitest';
import { createSink } from '../src/sinks/create-sink.js';
import type { SinkEnvironment } from '../src/sinks/types.js';

const env: SinkEnvironment = { slackApiUrl: 'http://127.0.0.1:1/api/', hubspotBaseUrl: 'http://127.0.0.1:1' };

describe('createSink', () => {
  it('builds each sink type under its name', () => {
    const sinks = [
      createSink('slack', { type: 'slack', token: 'xoxb-1' }, env),
      createSink('crm', { type: 'hubspot', access_token: 'pat-1' }, env),
      createSink('audit', { type: 'http', url: 'http://127.0.0.1:1/' }, env),
      createSink('console', { type: 'log' }, env),
    ];
    expect(sinks.map((s) => [s.name, s.type])).toEqual([
      ['slack', 'slack'],
      ['crm', 'hubspot'],
      ['audit', 'http'],
      ['console', 'log'],
    ]);
  });

  it('fails fast on a config it cannot use, naming the sink and option', () => {
    expect(() => createSink('slack', { type: 'slack', token: '' }, env)).toThrow('sink "slack": options.token required');
    expect(() => createSink('crm', { type: 'hubspot', access_token: '' }, env)).toThrow('options.access_token required');
    expect(() => createSink('audit', { type: 'http', url: '' }, env)).toThrow('options.url required');
  });
});

describe('log sink', () => {
  it('prints the rendered action as one JSON line through the writer, and succeeds', async () => {
    // Given
    const lines: string[] = [];
    const sink = createSink('console', { type: 'log' }, env, { write: (line) => lines.push(line) });
    // When
    const out = await sink.send({ channel: '#x', text: 'hi' }, { deliveryId: 'dlv_1', attempt: 2, keyState: null });
    // Then
    expect(out).toEqual({ outcome: 'succeeded', result: null });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { sink: 'console', delivery_id: 'dlv_1', attempt: 2, request: { channel: '#x', text: 'hi' } },
    ]);
  });
});
