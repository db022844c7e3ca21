import { z } from 'zod';
import { template } from '../../rules/schema-parts.js';
import { sinkDeclaration, type SinkConfigOf } from '../common-options.js';

/** The shapes of the log kind: its declaration, its action, and the request it prints. */

export const logConfigSchema = sinkDeclaration({ type: z.literal('log') });

export type LogSinkConfig = SinkConfigOf<typeof logConfigSchema>;

export const logActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of a log sink'),
    text: template.optional(),
    fields: z.record(z.string(), z.unknown()).optional().describe('Strings are Liquid templates'),
  })
  .describe('Print the rendered action; sends nothing');

export type LogActionInput = z.output<typeof logActionSchema>;

/**
 * A rendered log action: `delivery.planned.request`. The sender prints whatever request it is
 * given (it sends nothing, so nothing can be refused): other keys are kept.
 */
export const logRequestSchema = z.looseObject({ text: z.string().optional(), fields: z.unknown().optional() });

export type LogRequest = z.output<typeof logRequestSchema>;
