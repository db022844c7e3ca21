import { createHash, randomBytes } from 'node:crypto';

/** How every operator event id starts (`op-57`); a HuskyVoice event id that starts so is hashed in its own namespace. */
export const OPERATOR_ID_PREFIX = 'op-';

/** The event id of an operator event's plans: it has none of its own, its entry's seq is unique (`op-57`). */
export function operatorEventId(seq: number): string {
  return `${OPERATOR_ID_PREFIX}${seq}`;
}

/**
 * What a delivery is planned from, each kind its own id space (README "The log"):
 * - `call`: a HuskyVoice event, by its `event_id` (any text the sender chose);
 * - `operator`: one of the relay's operator events, by its entry's seq (its event id is `op-SEQ`);
 * - `erase`: a deletion `erase --downstream` plans for one event of one call.
 */
export type DeliverySource =
  | { kind: 'call'; event_id: string }
  | { kind: 'operator'; seq: number }
  | { kind: 'erase'; call_id: string; event_id: string };

/**
 * The text hashed for a delivery. Names hold no U+0000 (envelope, rule ids), so fields are
 * split by it. The ids every log already holds keep their old input, `EVENT\0RULE\0INDEX`:
 * operator events (`op-SEQ`) and HuskyVoice events whose id does not start with `op-`. Every
 * other source starts with U+0000 and its kind's tag, which no old input can (an event id is
 * never empty), so no sender-chosen id can make another source's input: a HuskyVoice event
 * `op-5` is not the alert of entry 5, and a call id or event id holding `:` is not another
 * call's erasure.
 */
function hashInput(source: DeliverySource, ruleId: string, actionIndex: number): string {
  const tail = `${ruleId}\u0000${actionIndex}`;
  switch (source.kind) {
    case 'operator':
      return `${operatorEventId(source.seq)}\u0000${tail}`;
    case 'call':
      return source.event_id.startsWith(OPERATOR_ID_PREFIX) ? `\u0000call\u0000${source.event_id}\u0000${tail}` : `${source.event_id}\u0000${tail}`;
    case 'erase':
      return `\u0000erase\u0000${source.call_id}\u0000${source.event_id}\u0000${tail}`;
  }
}

/**
 * `dlv_` and 22 base64url characters of SHA-256 over (source, rule_id, action_index): the same
 * plan always gets the same id, so planning an event twice plans nothing new (README "The
 * log"), and two sources never share one (`hashInput`). `replay --force` passes a generation
 * (`g…`), appended as `_GENERATION` to plan again.
 */
export function deliveryId(source: DeliverySource, ruleId: string, actionIndex: number, generation?: string): string {
  return idOf(hashInput(source, ruleId, actionIndex), generation);
}

/**
 * A new generation for `replay --force` (`deliveryId`'s last part): `g`, the time in base 36
 * (ms since the epoch) and 24 random bits as 5 base-36 digits, e.g. `gmx79kp790k3z9`. The
 * random part keeps two runs apart that start in the same millisecond (or after the clock was
 * set back): with the time alone they shared a generation, so the second run's plans were the
 * first's ids, counted as planned already, and it delivered nothing again while saying it did.
 * @param nowMs - ms since the epoch (default `Date.now()`).
 * @param random - n random bytes (default `crypto.randomBytes`; tests pass their own).
 */
export function newGeneration(nowMs = Date.now(), random: (n: number) => Buffer = randomBytes): string {
  return `g${nowMs.toString(36)}${random(3).readUIntBE(0, 3).toString(36).padStart(5, '0')}`;
}

/**
 * The id a relay before these namespaces gave a HuskyVoice event's delivery where it differs
 * from `deliveryId`'s (the event id starts with `op-`), else null. The planner counts a plan
 * the log holds under it, planned from that same event, as planned already, so a `replay` of
 * an older log sends nothing twice; one an alert holds (the collision the namespaces end)
 * does not count, so that replay plans what the alert's id took.
 */
export function preNamespaceId(eventId: string, ruleId: string, actionIndex: number, generation?: string): string | null {
  return eventId.startsWith(OPERATOR_ID_PREFIX) ? idOf(`${eventId}\u0000${ruleId}\u0000${actionIndex}`, generation) : null;
}

function idOf(input: string, generation: string | undefined): string {
  const hash = createHash('sha256').update(input).digest('base64url').slice(0, 22);
  return generation ? `dlv_${hash}_${generation}` : `dlv_${hash}`;
}
