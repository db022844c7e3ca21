import type { RetryPolicy, SinkConfig, SinkType } from '../sinks/types.js';
import type { CompiledWhen } from './cel.js';
import type { Problem } from './problem.js';

/**
 * What a rule runs on, as templates see `event` and sinks render from: a HuskyVoice envelope
 * (README "Pointing HuskyVoice at it"), or an operator event's `{event_type, created_at, data}` (README "When a rule fails at run time").
 */
export interface RoutedEvent {
  event_type: string;
  created_at: string;
  data: Record<string, unknown>;
}

/** One action of a rule, compiled: which sink, where it is, and what its kind made of it. */
export interface CompiledAction {
  sink: string;
  /** The sink's kind: its `render` turns `compiled` into a request. */
  type: SinkType;
  /** Position in the rule's `actions`; part of the delivery id. */
  index: number;
  /** A template of it loops over data: it renders under the watchdog (`runBoundedSteps`). */
  unbounded: boolean;
  /** What the kind's `compile` made of the action (its templates parsed); only that kind reads it. */
  compiled: unknown;
}

export interface EventMatcher {
  /** As written: a type, or a glob with `*`. */
  patterns: string[];
  /** Whether a HuskyVoice event of this type matches. */
  matches(eventType: string): boolean;
  /** Whether an operator event of this type (README "When a rule fails at run time") matches: only a pattern that names it does (`sink.*`, not `*`). */
  names(eventType: string): boolean;
}

export interface CompiledRule {
  id: string;
  description?: string;
  on: EventMatcher;
  when?: CompiledWhen;
  actions: CompiledAction[];
}

export interface LoadedSink {
  config: SinkConfig;
  /** False when a `${VAR}` it needs is unset: its deliveries wait as pending. */
  enabled: boolean;
  disabled_reason?: string;
}

export interface LoadedRules {
  path: string;
  /** sha256 of the file's bytes, hex: `rules_hash` in the log. */
  hash: string;
  sinks: Record<string, LoadedSink>;
  /** The file's `retry`, over the defaults (12, 10 s, 1 h); a sink's own `retry` overrides it. */
  retry: RetryPolicy;
  /** The file's `alerts` over the defaults (README "When a rule fails at run time"). */
  alerts: AlertsConfig;
  rules: CompiledRule[];
}

export interface AlertsConfig {
  /** `alerts.pending_after` in ms. (Default: `DEFAULTS.alerts.pendingAfterMs`, 15 min) */
  pending_after_ms: number;
  /** The same as the file writes it (`15m`), for `pending.stale`. */
  pending_after: string;
}

export type LoadResult =
  | { ok: true; rules: LoadedRules; warnings: Problem[] }
  /** `problems` holds the errors and the warnings, in file order. */
  | { ok: false; problems: Problem[] };

export interface LoadOptions {
  /** Unset `${VAR}` in a sink is an error instead of a warning (`rules check --strict`). */
  strict?: boolean;
}
