import type { CompiledAction, RoutedEvent } from '../rules/types.js';
import type { Scope } from '../rules/liquid.js';
import { sinkKind } from '../sinks/registry.js';

export interface RenderedAction {
  /** Exactly what the sink will send (its kind's `requestSchema`); secrets (tokens, sink headers) are added by the sink. */
  request: Record<string, unknown>;
  /** The rendered thread_key or upsert_key; null if none or empty. */
  order_key: string | null;
  /** What was changed to fit the sink (Slack text cut to its limits), for `rules test`. */
  warnings: string[];
}

/**
 * Renders one action for one event, exactly as the sink will send it, by the action's sink
 * kind (`sinks/<kind>/`). `received`: the exact text of a HuskyVoice event (see `SinkKind.render`).
 * Pure; throws when a template fails or exceeds a bound.
 */
export function renderAction(action: CompiledAction, scope: Scope, event: RoutedEvent, received?: string): RenderedAction {
  const { request, order_key, warnings = [] } = sinkKind(action.type).render(action.compiled, scope, event, received);
  return { request, order_key, warnings };
}
