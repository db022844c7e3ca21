import type { DeliveryError } from '../log/types.js';
import type { SinkType } from './registry.js';

/**
 * One small interface for every sink. A sink turns a rendered request into one attempt
 * and classifies what happened (README "Delivery"); it never retries by itself and never throws
 * for a delivery failure (only for a bug).
 */

/**
 * Options every sink declaration may carry in rules.yaml (README "Rules file", "Delivery"), as the dispatcher
 * reads them: durations in ms (`common-options.ts` declares them and converts).
 */
export interface SinkCommonOptions {
  rate_limit?: { per_second: number; burst?: number };
  /** Attempts in flight at once for deliveries without an order_key. (Default: 4) */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout. (Default: 10 s) */
  timeout_ms?: number;
}

export interface RetryPolicy {
  /** Failed attempts after which the delivery is dead. (Default: 12) */
  max_attempts: number;
  /** Wait before the second attempt; doubles each time. (Default: 10 s) */
  initial_delay_ms: number;
  /** The longest wait between two attempts. (Default: 1 h) */
  max_delay_ms: number;
}

/** A sink's config as its sender takes it, and its kind: declared by each kind (`registry.ts`). */
export type { SinkConfig, SinkType } from './registry.js';

export interface AttemptContext {
  /** Standard Webhooks `webhook-id`; also an idempotency hint for sinks that take one. */
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * The key's state (`p_key_state`): what the first successful delivery with the same sink and
   * order_key returned, or the one that restarted the key (Slack `{channel, ts}`, HubSpot
   * `{object_type, object_id}`), with `stage_event_type`, the furthest stage of the call
   * applied to it (see `call-stage.ts`); null if this is the first. Threads, live cards and
   * upserts are built on it.
   */
  keyState: Record<string, unknown> | null;
  /**
   * The type of the event the delivery was planned from (`delivery.planned.event_type`): a
   * live card or an upsert is not taken back to an earlier stage of the call by it.
   */
  eventType?: string;
  /** Aborted when the relay shuts down hard. The sink also enforces its own timeout. */
  signal?: AbortSignal;
}

export type AttemptOutcome =
  /**
   * A deliberate no-op (HubSpot `if_no_contact: skip`, a superseded card or upsert) succeeds
   * with `{skipped: reason}`; a key started afresh (its card, thread or object was deleted)
   * says why in `restarted`.
   */
  | { outcome: 'succeeded'; result: Record<string, unknown> | null }
  | { outcome: 'failed'; error: DeliveryError; /** From Retry-After, if the sink was told. */ retry_after_ms?: number };

export interface Sink {
  readonly name: string;
  readonly type: SinkType;
  send(request: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome>;
  /**
   * The sink will not be sent to again (rules reloaded, relay stopping): it lets go of what it
   * keeps open (the HTTP kind's idle pooled sockets). Attempts in flight still finish. Optional.
   */
  close?(): void;
}

/**
 * A sink of a kind that keeps a keep-alive pool of connections (HTTP, Slack, HubSpot): its
 * `close()` is always there and ends the pool's idle sockets at once (reload, shutdown), each
 * in-flight one once its attempt ends.
 */
export type PooledSink = Sink & { close(): void };

/** Where the SDKs point: README "Command line". Tests aim these at local fakes. */
export interface SinkEnvironment {
  slackApiUrl: string;
  hubspotBaseUrl: string;
}
