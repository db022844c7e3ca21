import { z } from 'zod';
import { template } from '../../rules/schema-parts.js';
import { sinkDeclaration, type SinkConfigOf } from '../common-options.js';

/** The shapes of the HTTP kind: its declaration, its action, and the request it sends. */

export const httpConfigSchema = sinkDeclaration({
  type: z.literal('http'),
  url: z.url({ protocol: /^https?$/ }).describe('Where to POST'),
  secret: z
    .string()
    .optional()
    .describe('Standard Webhooks signing secret: "whsec_" + base64 of a 24 to 64 byte key, or any other string of at least 24 bytes'),
  headers: z.record(z.string(), z.string()).optional().describe('Sent with every request; may hold secrets'),
});

/** `secret`: Standard Webhooks (`whsec_…` base64, or any string used as raw bytes). */
export type HttpSinkConfig = SinkConfigOf<typeof httpConfigSchema>;

export const httpActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of an http sink'),
    body: z.record(z.string(), z.unknown()).optional().describe('Sent as JSON; strings are Liquid templates. (Default: the envelope)'),
    headers: z.record(z.string(), template).optional(),
    method: z.enum(['POST', 'PUT', 'PATCH']).optional().describe('(Default: POST)'),
  })
  .describe('Send JSON to an HTTP endpoint');

export type HttpActionInput = z.output<typeof httpActionSchema>;

/**
 * A rendered HTTP action: `delivery.planned.request`, and what the sender reads back. The
 * sink's own headers and the signing headers are added when it is sent.
 */
export const httpRequestSchema = z.object({
  method: z.string().min(1).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  /** The body, sent as JSON (absent when `body_text` is set). */
  body: z.unknown().optional(),
  /**
   * The body as text, sent exactly as it is: the original envelope's bytes when the action has
   * no `body`. Plans made before it existed hold the envelope in `body`.
   */
  body_text: z.string().optional(),
});

export type HttpRequest = z.output<typeof httpRequestSchema>;
