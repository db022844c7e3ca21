import { normalizeDateTime } from '../../dates.js';
import type { RoutedEvent } from '../../rules/types.js';

/** HubSpot's call statuses for our event types (README "Rules file"). */
const CALL_STATUS: Record<string, string> = {
  'call.completed': 'COMPLETED',
  'call.failed': 'FAILED',
  'call.disallowed': 'CANCELED',
  'call.answered': 'IN_PROGRESS',
  'call.initiated': 'CONNECTING',
};

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Properties a call or note gets before the rule's own `properties` override them.
 * `hs_timestamp` is `created_at` read as RFC 3339 (zone-less is UTC, whatever the host's zone)
 * in ISO-8601 UTC (HubSpot takes ISO or epoch ms); a field the event lacks is left out.
 * Throws when `created_at` is not a date-time, unless the rule sets `hs_timestamp` itself
 * (`overridden`): HubSpot needs one, so the delivery fails at planning with the reason.
 */
export function hubspotDefaults(create: 'call' | 'note', envelope: RoutedEvent, timestampOverridden = false): Record<string, string> {
  const data = envelope.data;
  const out: Record<string, string> = {};
  const timestamp = normalizeDateTime(String(envelope.created_at));
  if (timestamp !== null) out.hs_timestamp = timestamp;
  else if (!timestampOverridden) {
    throw new Error(`created_at ${JSON.stringify(envelope.created_at)} is not an RFC 3339 date-time, so hs_timestamp cannot be set`);
  }
  const summary = text(data.summary);
  if (create === 'note') {
    if (summary !== undefined) out.hs_note_body = summary;
    return out;
  }
  const seconds = Number(text(data.duration_seconds));
  if (text(data.duration_seconds) !== undefined && Number.isFinite(seconds) && seconds >= 0) {
    out.hs_call_duration = String(Math.round(seconds * 1000));
  }
  const status = CALL_STATUS[envelope.event_type];
  if (status) out.hs_call_status = status;
  if (summary !== undefined) out.hs_call_body = summary;
  out.hs_call_direction = 'OUTBOUND';
  const to = text(data.to_number);
  if (to !== undefined) out.hs_call_to_number = to;
  return out;
}
