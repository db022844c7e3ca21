import type { RetryPolicy, SinkConfig } from '../sinks/types.js';
import { parseDuration } from './duration.js';
import type { SinkItem } from './schema.js';
import { DEFAULTS } from '../config/defaults.js';

type RetryInput = { max_attempts?: number | undefined; initial_delay?: string | undefined; max_delay?: string | undefined };

/** A `retry` mapping in ms; only the keys it sets (durations are shape-checked already). */
export function retryOverrides(input: RetryInput | undefined): Partial<RetryPolicy> {
  const out: Partial<RetryPolicy> = {};
  if (!input) return out;
  if (input.max_attempts !== undefined) out.max_attempts = input.max_attempts;
  if (input.initial_delay !== undefined) out.initial_delay_ms = parseDuration(input.initial_delay) ?? DEFAULTS.delivery.retry.initial_delay_ms;
  if (input.max_delay !== undefined) out.max_delay_ms = parseDuration(input.max_delay) ?? DEFAULTS.delivery.retry.max_delay_ms;
  return out;
}

/** The declaration as `SinkConfig` (durations in ms). */
export function buildSink(item: SinkItem): SinkConfig {
  const common = {
    ...(item.rate_limit && { rate_limit: item.rate_limit }),
    ...(item.concurrency !== undefined && { concurrency: item.concurrency }),
    ...(item.retry && { retry: retryOverrides(item.retry) }),
    ...(item.timeout !== undefined && { timeout_ms: parseDuration(item.timeout) ?? 10_000 }),
  };
  switch (item.type) {
    case 'slack':
      return { type: 'slack', token: item.token, ...common };
    case 'hubspot':
      return { type: 'hubspot', access_token: item.access_token, ...common };
    case 'http':
      return {
        type: 'http',
        url: item.url,
        ...(item.secret !== undefined && { secret: item.secret }),
        ...(item.headers && { headers: item.headers }),
        ...common,
      };
    case 'log':
      return { type: 'log', ...common };
  }
}
