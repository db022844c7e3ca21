import type { NewEntry } from '../log/types.js';
import type { CallStory } from '../project/call-story.js';
import { deliveryId } from '../route/delivery-id.js';
import type { SinkKind } from '../sinks/kind.js';

/** The rule id of the deliveries `erase --downstream` plans. */
export const ERASE_RULE = 'erase';

/**
 * `erase --downstream` (README "Personal data"): for each delivery of the call that succeeded,
 * the deletion its sink's kind plans from its result (Slack `chat.delete` of the message,
 * HubSpot archive of the object, a signed `call.erased` notice to an HTTP endpoint), as
 * ordinary `delivery.planned` entries: each once per message, object or endpoint, planned
 * under the event it undoes, with no `call_id`, so their requests are sealed under the relay's
 * own key and outlive the erasure. Pure: `kindOf` names the kind of a sink (from the rules),
 * undefined for a sink the rules no longer declare (nothing is planned for it).
 */
export function downstreamPlans(story: CallStory, kindOf: (sink: string) => SinkKind | undefined, rulesHash: string): NewEntry[] {
  const seqOf = new Map(story.events.map((e) => [e.event_id, e] as const));
  const seen = new Set<string>();
  const plans: NewEntry[] = [];
  for (const d of story.deliveries) {
    const event = seqOf.get(d.event_id);
    const kind = kindOf(d.sink);
    if (d.result === null || !event || !kind?.erasure) continue;
    const request = kind.erasure(d.result, story.call_id);
    const key = `${d.sink}\u0000${JSON.stringify(request)}`;
    if (request === null || seen.has(key)) continue;
    seen.add(key);
    const actionIndex = plans.length;
    plans.push({
      type: 'delivery.planned',
      data: {
        delivery_id: deliveryId({ kind: 'erase', call_id: story.call_id, event_id: d.event_id }, ERASE_RULE, actionIndex),
        event_id: d.event_id,
        event_seq: event.seq,
        event_type: event.event_type,
        rule_id: ERASE_RULE,
        action_index: actionIndex,
        sink: d.sink,
        request,
        order_key: null,
        rules_hash: rulesHash,
      },
    });
  }
  return plans;
}
