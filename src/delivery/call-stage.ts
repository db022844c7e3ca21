/**
 * A call's own progress, so that what a live card or an upserted CRM object shows follows the
 * call and not the order events happened to arrive in (issue 12 item 4). Pure; the projection
 * (key state) and the sinks (what to skip) both decide from it, so replay gives the same.
 */

/**
 * Stage of each HuskyVoice event type (README "Pointing HuskyVoice at it"): initiated < answered < completed, failed,
 * disallowed (the three ends share a stage: between them arrival order decides). A type not
 * listed (a future one, an operator event) has no stage: it is applied as it comes, and
 * neither is held back by a stage nor moves the stage on.
 */
export const CALL_STAGES: Readonly<Record<string, number>> = {
  'call.initiated': 1,
  'call.answered': 2,
  'call.completed': 3,
  'call.failed': 3,
  'call.disallowed': 3,
};

/** The stage of an event type, or null for a type without one. */
export function stageOf(eventType: string | null | undefined): number | null {
  return eventType != null && Object.hasOwn(CALL_STAGES, eventType) ? CALL_STAGES[eventType]! : null;
}

/**
 * The key state's field that names the event type of the furthest stage applied to the key
 * (its card, thread or object). Sinks receive it with the rest of the key state.
 */
export const STAGE_FIELD = 'stage_event_type';

/**
 * Why a delivery of `eventType` would take what the key shows back to an earlier stage, or
 * null when it would not (a later or equal stage, a type without a stage, nothing shown yet).
 * A replace (live card) or an upsert that is superseded succeeds as a deliberate no-op with
 * this as its `skipped` reason.
 */
export function supersededReason(eventType: string | undefined, keyState: Record<string, unknown> | null): string | null {
  const shown = keyState?.[STAGE_FIELD];
  const shownStage = typeof shown === 'string' ? stageOf(shown) : null;
  const stage = stageOf(eventType);
  if (stage === null || shownStage === null || stage >= shownStage) return null;
  return `superseded: ${eventType} is an earlier stage of the call than ${String(shown)}, which this key already shows`;
}

/**
 * The key state after a successful, not skipped delivery of `eventType` whose sink returned
 * `result`: the first result of the key (the thread, the card, the object), or the new one
 * when the sink had to start it afresh (`result.restarted`: the old one was deleted), with
 * the furthest stage applied so far. Pure: the projection runs it live and in replay.
 */
export function nextKeyState(
  current: Record<string, unknown> | null,
  result: Record<string, unknown>,
  eventType: string,
): Record<string, unknown> {
  const { restarted, ...fresh } = result;
  const base = current === null || restarted !== undefined ? fresh : current;
  const shown = current?.[STAGE_FIELD];
  const shownStage = typeof shown === 'string' ? stageOf(shown) : null;
  const stage = stageOf(eventType);
  const furthest = stage !== null && (shownStage === null || stage >= shownStage) ? eventType : shown;
  const { [STAGE_FIELD]: _old, ...rest } = base;
  return typeof furthest === 'string' ? { ...rest, [STAGE_FIELD]: furthest } : rest;
}
