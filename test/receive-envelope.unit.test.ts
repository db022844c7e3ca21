import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeSchema, isEnvelope } from '../src/receive/envelope.js';

describe('isEnvelope, the fast path of envelope validation', () => {
  it('never accepts what the schema refuses, and accepts the samples', () => {
    // Given envelopes whose fields are sometimes right, sometimes of any other shape
    const field = (right: fc.Arbitrary<unknown>) => fc.oneof(right, fc.anything());
    const envelope = fc.record(
      {
        event_id: field(fc.string()),
        event_type: field(fc.constantFrom('call.completed', 'call.failed', '')),
        created_at: field(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string())),
        org_id: field(fc.string()),
        data: field(fc.record({ call_id: field(fc.string()), agent_id: field(fc.string()), status: field(fc.string()) })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (value) => {
        // Then the fast path says yes only where the schema (which writes the 422 details) says yes
        if (isEnvelope(value)) expect(envelopeSchema.safeParse(value).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
    const sample = { event_id: 'e', event_type: 'call.completed', created_at: '2026-06-01T10:00:00Z', org_id: 'o', data: { call_id: 'c', agent_id: 'a', status: 's', extra: 1 } };
    expect(isEnvelope(sample)).toBe(true);
  });
});
