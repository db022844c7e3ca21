/**
 * The `data` fields HuskyVoice events carry, per event type, with their JSON type: what
 * `rules check` compares `when` conditions and templates against (warnings only: unknown
 * types and fields are still forwarded, README "Pointing HuskyVoice at it"). Taken from the HuskyVoice outbound
 * webhooks reference (its `call.completed` example: `call_id`, `agent_id`, `status`,
 * `duration_seconds`, `summary`, `transcript`) and the sample events shipped with this
 * project's specification (`to_number`, `contact_email`, `reason`). A copy: the relay never
 * reads those documents at run time.
 */
export type FieldType = 'string' | 'number';

const COMMON: Record<string, FieldType> = {
  call_id: 'string',
  agent_id: 'string',
  status: 'string',
  to_number: 'string',
  contact_email: 'string',
};

/** What an operator event's `data` holds about its sink (README "The log", "When a rule fails at run time"). */
const SINK_EVENT: Record<string, FieldType> = { sink: 'string', reason: 'string', code: 'string' };
const PENDING_EVENT: Record<string, FieldType> = { sink: 'string', oldest_pending_at: 'string', count: 'number' };

/** Fields of `data` by event type: HuskyVoice's, and the relay's operator events (their entry's fields, README "When a rule fails at run time"). */
export const EVENT_FIELDS: Record<string, Record<string, FieldType>> = {
  'call.initiated': { ...COMMON },
  'call.answered': { ...COMMON },
  'call.completed': { ...COMMON, duration_seconds: 'number', summary: 'string', transcript: 'string' },
  'call.failed': { ...COMMON, reason: 'string' },
  'call.disallowed': { ...COMMON, reason: 'string' },
  'delivery.dead': { delivery_id: 'string', rule_id: 'string', sink: 'string', event_id: 'string', call_id: 'string', reason: 'string' },
  'sink.paused': { ...SINK_EVENT, delivery_id: 'string' },
  'sink.resumed': { ...SINK_EVENT },
  'pending.stale': { ...PENDING_EVENT, delivery_id: 'string', pending_after: 'string' },
  'pending.cleared': { ...PENDING_EVENT },
};

/** The envelope's own fields (README "Pointing HuskyVoice at it"), what `event.` may read. */
export const ENVELOPE_FIELDS: Record<string, FieldType | 'object'> = {
  event_id: 'string',
  event_type: 'string',
  created_at: 'string',
  org_id: 'string',
  data: 'object',
};

/** What `event.` holds for an operator event (README "When a rule fails at run time"): no event or org id. */
export const OPERATOR_EVENT_FIELDS: Record<string, FieldType | 'object'> = {
  event_type: 'string',
  created_at: 'string',
  data: 'object',
};

/** The fields of `data` any of these event types has, with their type (first one seen wins). */
export function fieldsOf(types: readonly string[]): Map<string, FieldType> {
  const fields = new Map<string, FieldType>();
  for (const type of types) for (const [name, kind] of Object.entries(EVENT_FIELDS[type] ?? {})) if (!fields.has(name)) fields.set(name, kind);
  return fields;
}
