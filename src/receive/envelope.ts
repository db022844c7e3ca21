import { z } from 'zod';
import { parseDateTime } from '../dates.js';

/** An RFC 3339 date-time as `parseDateTime` reads it (a zone-less one is UTC). */
const isDateTime = (value: string): boolean => parseDateTime(value) !== null;

/**
 * The HuskyVoice envelope (README "Pointing HuskyVoice at it"). `data` keeps every field it was sent with: only
 * `call_id`, `agent_id` and `status` are promised, everything else is optional.
 */
export const envelopeSchema = z.object({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  // One reading whatever the host's zone (never Date.parse): RFC 3339, zone-less = UTC
  created_at: z.string().refine(isDateTime, 'expected an RFC 3339 date-time such as 2026-06-01T10:00:00Z'),
  org_id: z.string().min(1),
  data: z.looseObject({
    call_id: z.string().min(1),
    agent_id: z.string().min(1),
    status: z.string().min(1),
  }),
});

export type Envelope = z.infer<typeof envelopeSchema>;

/** The five event types HuskyVoice documents; others are accepted and stored. */
export const KNOWN_EVENT_TYPES = [
  'call.initiated',
  'call.answered',
  'call.completed',
  'call.failed',
  'call.disallowed',
] as const;

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * True when `envelopeSchema` would accept `value` as it is (the usual request), without
 * zod's cost; false sends it to `parseEnvelope`. It may say false where zod says yes
 * (zod then decides), never true where zod says no.
 */
export function isEnvelope(value: unknown): value is Envelope {
  if (!isObject(value)) return false;
  const { event_id, event_type, created_at, org_id, data } = value;
  return (
    nonEmpty(event_id) &&
    nonEmpty(event_type) &&
    typeof created_at === 'string' &&
    isDateTime(created_at) &&
    nonEmpty(org_id) &&
    isObject(data) &&
    nonEmpty(data['call_id']) &&
    nonEmpty(data['agent_id']) &&
    nonEmpty(data['status'])
  );
}

export interface EnvelopeProblem {
  path: string;
  message: string;
}

export function parseEnvelope(value: unknown): { ok: true; envelope: Envelope } | { ok: false; details: EnvelopeProblem[] } {
  const parsed = envelopeSchema.safeParse(value);
  if (parsed.success) return { ok: true, envelope: parsed.data };
  return {
    ok: false,
    details: parsed.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.join('.') : '(root)',
      message: issue.message,
    })),
  };
}
