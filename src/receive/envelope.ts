import { z } from 'zod';
import { parseDateTime } from '../dates.js';
import { hasUnstorable } from '../log/text.js';
import { isJsonObject } from '../json-object.js';

/** An RFC 3339 date-time as `parseDateTime` reads it (a zone-less one is UTC). */
const isDateTime = (value: string): boolean => parseDateTime(value) !== null;

/**
 * Text that names something in the log, its keys and its tables (ids, types): no U+0000 and no
 * unpaired UTF-16 surrogate. PostgreSQL's text columns cannot hold U+0000 and replace an unpaired
 * surrogate by U+FFFD (two ids would become one), so such an id is refused on both engines alike
 * (README "Faults"); the body itself may hold anything JSON allows.
 */
const NAME_MESSAGE = 'must be text without U+0000 or an unpaired surrogate (\\u0000, \\udc00): it names the event in the log';
/** Longest name (characters): HuskyVoice's ids are short; a name is a key of indexes PostgreSQL bounds at ~2,700 bytes a row. */
export const MAX_NAME_CHARS = 512;
const isName = (value: string): boolean => value.length <= MAX_NAME_CHARS && !hasUnstorable(value);
const name = () =>
  z
    .string()
    .min(1)
    .max(MAX_NAME_CHARS, `must be at most ${MAX_NAME_CHARS} characters: it names the event in the log's keys`)
    .refine((value) => !hasUnstorable(value), NAME_MESSAGE);

/**
 * The HuskyVoice envelope (README "Pointing HuskyVoice at it"). `data` keeps every field it was sent with: only
 * `call_id`, `agent_id` and `status` are promised, everything else is optional.
 */
export const envelopeSchema = z.object({
  event_id: name(),
  event_type: name(),
  // One reading whatever the host's zone (never Date.parse): RFC 3339, zone-less = UTC
  created_at: z.string().refine(isDateTime, 'expected an RFC 3339 date-time such as 2026-06-01T10:00:00Z'),
  org_id: name(),
  data: z.looseObject({
    call_id: name(),
    agent_id: name(),
    status: name(),
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

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && isName(value);
/**
 * True when `envelopeSchema` would accept `value` as it is (the usual request), without
 * zod's cost; false sends it to `parseEnvelope`. It may say false where zod says yes
 * (zod then decides), never true where zod says no.
 */
export function isEnvelope(value: unknown): value is Envelope {
  if (!isJsonObject(value)) return false;
  const { event_id, event_type, created_at, org_id, data } = value;
  return (
    nonEmpty(event_id) &&
    nonEmpty(event_type) &&
    typeof created_at === 'string' &&
    isDateTime(created_at) &&
    nonEmpty(org_id) &&
    isJsonObject(data) &&
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
