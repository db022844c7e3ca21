import { createHash } from 'node:crypto';

/**
 * Deterministic from (event_id, rule_id, action_index), so planning the same event twice
 * plans nothing new (README "The log"). `replay --force` passes a generation to plan again.
 */
export function deliveryId(eventId: string, ruleId: string, actionIndex: number, generation?: string): string {
  const hash = createHash('sha256')
    .update(`${eventId}\u0000${ruleId}\u0000${actionIndex}`)
    .digest('base64url')
    .slice(0, 22);
  return generation ? `dlv_${hash}_${generation}` : `dlv_${hash}`;
}
