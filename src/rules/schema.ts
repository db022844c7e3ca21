import { z } from 'zod';
import { DEFAULTS } from '../config/defaults.js';
import { SINK_KIND_LIST, type SinkType, type SINK_KINDS } from '../sinks/registry.js';
import { hasUnstorable } from '../log/text.js';
import { duration, retrySchema, span } from './schema-parts.js';

const { retry } = DEFAULTS.delivery;

/**
 * The rules file's shape (README "Rules file"), written once: `loadRules` validates with it and
 * `rules schema` prints it as JSON Schema for editors. A sink declaration and an action take
 * the shapes of the sink kinds in the registry (`sinks/<kind>/schema.ts`). Meaning that the
 * shape cannot say (sink names, CEL, Liquid, which action fits which sink) is checked in
 * `check-*.ts` and by each kind's `check`.
 */

/** A schema of each registered kind, in registry order, as zod's union constructors take them. */
function eachKind<S>(pick: (kind: (typeof SINK_KIND_LIST)[number]) => S): [S, ...S[]] {
  const [first, ...rest] = SINK_KIND_LIST.map(pick);
  if (first === undefined) throw new Error('no sink kinds are registered');
  return [first, ...rest];
}

/**
 * A sink declaration of any kind, told apart by `type`. The kinds are listed at run time, so
 * the union's type is stated from the registry's (`SinkItem`) rather than inferred.
 */
export const sinkSchema = z.discriminatedUnion(
  'type',
  eachKind((kind) => kind.configSchema as z.ZodType as z.core.$ZodTypeDiscriminable),
) as z.ZodType as z.ZodType<SinkItem>;

/**
 * A rule id or sink name: it becomes part of delivery ids and indexed columns on both engines
 * (README "Faults"), so it is bounded and holds no control character (U+0000 cannot be stored
 * by PostgreSQL) or unpaired surrogate.
 */
export const MAX_RULE_NAME_CHARS = 128;
export const ruleName = z
  .string()
  .min(1)
  .max(MAX_RULE_NAME_CHARS, `must be at most ${MAX_RULE_NAME_CHARS} characters: it names deliveries in the log`)
  .refine((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v) && !hasUnstorable(v), 'must hold no control character or unpaired surrogate: it names deliveries in the log');

const eventTypes = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

function ruleSchema<A extends z.ZodType>(action: A) {
  return z.strictObject({
    id: ruleName.describe('Unique; part of every delivery id, so keep it stable'),
    description: z.string().optional(),
    on: eventTypes.describe('An event type, a list, or a glob such as call.*; operator events (delivery.dead, sink.*, pending.*) only by patterns that name them'),
    when: z.string().optional().describe('A CEL expression over event, data, seq, received_at'),
    actions: z.array(action).min(1),
  });
}

/** Operator alerts (README "When a rule fails at run time"): when the relay appends `pending.stale`. */
export const alertsSchema = z
  .strictObject({
    pending_after: duration
      .optional()
      .describe(`A sink whose oldest open delivery is older than this gets pending.stale, an operator event rules can route. (Default: ${span(DEFAULTS.alerts.pendingAfterMs)})`),
  })
  .describe('Operator alerts');

function fileSchema<A extends z.ZodType>(action: A) {
  return z.strictObject({
    version: z.literal(1),
    sinks: z.record(z.string(), sinkSchema),
    retry: retrySchema.optional().describe(`Defaults for every sink: max_attempts ${retry.max_attempts}, initial_delay ${span(retry.initial_delay_ms)}, max_delay ${span(retry.max_delay_ms)}`),
    alerts: alertsSchema.optional(),
    rules: z.array(ruleSchema(action)),
  });
}

/** Validation: an action is checked against its sink's action schema once sinks are known. */
export const actionRefSchema = z.looseObject({ sink: z.string() });
export const rulesFileSchema = fileSchema(actionRefSchema);
export const ruleItemSchema = ruleSchema(actionRefSchema);
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type RuleItem = z.infer<typeof ruleItemSchema>;

/** A shape-valid sink declaration, whatever its kind. */
export type SinkItem = { [Type in SinkType]: z.output<(typeof SINK_KINDS)[Type]['configSchema']> }[SinkType];

/** The JSON Schema editors use: every action shape is offered. */
export function rulesJsonSchema(): Record<string, unknown> {
  const action = z.union(eachKind((kind) => kind.actionSchema));
  return z.toJSONSchema(fileSchema(action).describe('husky-relay rules file'), { target: 'draft-2020-12' }) as Record<string, unknown>;
}
