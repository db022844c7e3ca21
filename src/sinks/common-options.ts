import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.js';
import { parseDuration } from '../rules/duration.js';
import { duration, retrySchema, span } from '../rules/schema-parts.js';
import type { RetryPolicy, SinkCommonOptions } from './types.js';

/**
 * The options every sink declaration may carry in rules.yaml whatever its kind (README
 * "Sinks": rate limit, concurrency, retry, timeout), written once: each kind's `configSchema`
 * is `sinkDeclaration({ type, …its own fields })`, and `toSinkConfig` turns any declaration
 * into the config its sender is built from (durations in ms).
 */

const { concurrency, timeoutMs } = DEFAULTS.delivery;

const sinkOptions = {
  rate_limit: z
    .strictObject({
      per_second: z.number().positive().describe('Requests per second, on average'),
      burst: z.int().min(1).optional().describe('Requests allowed at once. (Default: per_second, at least 1)'),
    })
    .optional()
    .describe('Token bucket for this sink'),
  concurrency: z.int().min(1).optional().describe(`Attempts in flight at once for deliveries without an order key. (Default: ${concurrency})`),
  retry: retrySchema.optional(),
  timeout: duration.optional().describe(`Per-request timeout. (Default: ${span(timeoutMs)})`),
};

type SinkOptionKey = keyof typeof sinkOptions;
type SinkOptionsDeclared = z.output<z.ZodObject<typeof sinkOptions>>;

/** A kind's declaration in rules.yaml: its `type` and own fields, then the options every sink has. */
export function sinkDeclaration<Shape extends { type: z.ZodLiteral<string> } & z.ZodRawShape>(own: Shape) {
  return z.strictObject({ ...own, ...sinkOptions });
}

/** The declaration as rules.yaml writes it (durations as text), whatever the kind. */
export type SinkDeclarationOf<Config> = Omit<Config, keyof SinkCommonOptions> & SinkOptionsDeclared;

/** The config a kind's sender is built from: its declaration with the common options in ms. */
export type SinkConfigOf<Schema extends z.ZodType> = Omit<z.output<Schema>, SinkOptionKey> & SinkCommonOptions;

/** Per kind of a union (a declaration of any kind gives the config of that kind). */
type ConfigFrom<Declared> = Declared extends unknown ? Omit<Declared, SinkOptionKey> & SinkCommonOptions : never;

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

/**
 * A declaration as the config its sender takes: the kind's own fields as written, the common
 * options in ms. A duration left empty by an unset `${VAR}` takes its default (the sink is
 * disabled meanwhile anyway).
 */
export function toSinkConfig<Declared extends { type: string } & SinkOptionsDeclared>(item: Declared): ConfigFrom<Declared> {
  const { rate_limit, concurrency: inFlight, retry, timeout, ...own } = item;
  return <ConfigFrom<Declared>>{
    ...own,
    ...(rate_limit && { rate_limit }),
    ...(inFlight !== undefined && { concurrency: inFlight }),
    ...(retry && { retry: retryOverrides(retry) }),
    ...(timeout !== undefined && { timeout_ms: parseDuration(timeout) ?? timeoutMs }),
  };
}
