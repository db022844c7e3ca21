import { describe, expect, it } from 'vitest';
import { preview } from '../src/commands/preview.js';

describe('replay --dry-run: the REQUEST column', () => {
  it('an http delivery with the default body shows the event as received, plain, not an internal field as an escaped JSON string (QA)', () => {
    const request = { method: 'POST', headers: {}, body_text: '{"event_id":"evt_1","event_type":"call.completed"}\n' };
    const line = preview(request);
    expect(line).toBe('POST {"headers":{}} body {"event_id":"evt_1","event_type":"call.completed"}⏎');
    expect(line).not.toContain('body_text');
    expect(line).not.toContain('\\"');
  });

  it('a rendered JSON body stays JSON, as before', () => {
    expect(preview({ method: 'POST', headers: {}, body: { call: 'c1' } })).toBe('POST {"headers":{},"body":{"call":"c1"}}');
  });
});
