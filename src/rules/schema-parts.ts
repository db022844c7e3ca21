import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.js';
import { DURATION_PATTERN, formatSeconds } from './duration.js';

/**
 * The pieces of the rules file's shape that the file itself and every sink kind's schemas
 * (`sinks/<kind>/`) are built from. Each is one zod object, reused by reference, so the JSON
 * Schema editors see stays one document (`rules schema`). Imports nothing from `sinks/`:
 * the registry builds on these, never the other way round.
 */

const { retry } = DEFAULTS.delivery;

/** A duration in ms as the rules file writes it (`10s`), for descriptions. */
export const span = (ms: number): string => formatSeconds(ms / 1000);

export const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'invalid duration (write it like 250ms, 10s, 5m or 1h)')
  .describe('A duration: 250ms, 10s, 5m or 1h');

/** A string of an action that is a Liquid template. */
export const template = z.string().describe('A Liquid template; sees event, data, seq, received_at');

export const retrySchema = z
  .strictObject({
    max_attempts: z.int().min(1).optional().describe(`Failed attempts after which a delivery is dead. (Default: ${retry.max_attempts})`),
    initial_delay: duration.optional().describe(`Wait before the second attempt; doubles each time. (Default: ${span(retry.initial_delay_ms)})`),
    max_delay: duration.optional().describe(`The longest wait between two attempts. (Default: ${span(retry.max_delay_ms)})`),
  })
  .describe('Retry policy');
