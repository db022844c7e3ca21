import { z } from 'zod';
import { DamagedEntryError } from './damaged-entry.js';
import type { EntryType } from './types.js';
import { isJsonObject } from '../json-object.js';

/**
 * The shape each entry type's data has (`types.ts`), as the readers that act on an entry check
 * it: data that is JSON but of another shape (`{}`, a field null or of another type: a hand
 * edit with the append-only trigger lifted) is a damaged entry, named as one (README "Faults"),
 * never a `TypeError` deep in a reader or a value silently taken for another. Fields a type
 * does not name are let through (a newer relay's).
 */

const text = z.string();
const num = z.number();
const anObject = z.looseObject({});

/** What a truncation's snapshot holds: its rows, as arrays. */
const SNAPSHOT = z.looseObject({
  events_by_type: z.array(z.unknown()),
  sink_health: z.array(z.unknown()),
  sink_state: z.array(z.unknown()),
  key_state: z.array(z.unknown()),
  calls: z.array(z.unknown()),
});

/** An attempt's error (`types.ts` `DeliveryError`): what the delivery's `last_error` keeps, and its kind decides whether it counts. */
const DELIVERY_ERROR = z.looseObject({ kind: z.enum(['transient', 'permanent', 'rate_limited']), code: text, message: text, status: num.optional() });

/** Every field of each type's data, and what it holds, in the order of `types.ts`. */
const SHAPES: Record<EntryType, z.ZodType> = {
  'event.received': z.looseObject({ event_id: text, event_type: text, org_id: text, created_at: text, received_at: text, call_id: text, body: text }),
  'delivery.planned': z.looseObject({
    delivery_id: text,
    event_id: text,
    event_seq: num,
    event_type: text,
    call_id: text.optional(),
    rule_id: text,
    action_index: num,
    sink: text,
    request: anObject,
    order_key: text.nullable(),
    rules_hash: text,
    generation: text.optional(),
  }),
  'delivery.attempted': z.looseObject({ delivery_id: text, attempt: num, outcome: z.enum(['succeeded', 'failed']), duration_ms: num, error: DELIVERY_ERROR.nullable(), retry_at: text.nullable(), result: anObject.nullable(), paused: z.literal(true).optional() }),
  'delivery.dead': z.looseObject({ delivery_id: text, reason: text }),
  'delivery.retried': z.looseObject({ delivery_id: text, reason: text, by: text.optional() }),
  // `sinks` is absent from an older relay's entries; each state is {enabled, disabled_reason?}
  'rules.loaded': z.looseObject({
    rules_hash: text,
    path: text,
    sinks: z.record(text, z.looseObject({ enabled: z.boolean(), disabled_reason: text.optional() })).optional(),
  }),
  'sink.paused': z.looseObject({ sink: text, reason: text, code: text, delivery_id: text }),
  'sink.resumed': z.looseObject({ sink: text, reason: text, code: text, by: text.optional() }),
  'pending.stale': z.looseObject({ sink: text, oldest_pending_at: text, count: num, delivery_id: text, pending_after: text }),
  'pending.cleared': z.looseObject({ sink: text, oldest_pending_at: text.nullable(), count: num }),
  'call.erased': z.looseObject({ call_id: text, reason: text, by: text, downstream: z.boolean() }),
  'log.truncated': z.looseObject({ before_seq: num, prev_hash: text, entries: num, calls: num, snapshot: SNAPSHOT, forget_keys: z.array(z.unknown()).optional() }),
};

/** What a value is, in words: `null`, `an array`, or its `typeof`. */
function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Zod's `expected` in words. */
const EXPECTED: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'an object', record: 'an object', array: 'an array' };

/**
 * What is wrong with `data` as the data of a `type` entry, in the words of
 * `projection-failure.ts`: `sink is missing`, `count is not a number (string)`, `delivery_id is
 * not text (null)`, `sinks.slack.enabled is not true or false (string)`; the first field found
 * wrong, in the order of `types.ts`. Null when it holds what the type holds, or the type is one
 * this relay does not know.
 */
export function shapeProblem(type: string, data: unknown): string | null {
  const shape = (SHAPES as Partial<Record<string, z.ZodType>>)[type];
  return shape ? problemIn(shape, data) : null;
}

/** What is wrong with `data` as `shape` holds it, in `shapeProblem`'s words; null when nothing is. */
function problemIn(shape: z.ZodType, data: unknown): string | null {
  if (!isJsonObject(data)) return `its data is ${kindOf(data)}`;
  const result = shape.safeParse(data);
  if (result.success) return null;
  const issue = result.error.issues[0]!;
  const name = issue.path.join('.');
  const value = issue.path.reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown> | undefined)?.[key], data);
  if (value === undefined) return `${name} is missing`;
  const expected = issue.code === 'invalid_type' ? (EXPECTED[issue.expected] ?? issue.expected) : undefined;
  return expected ? `${name} is not ${expected} (${kindOf(value)})` : `${name} is not what it holds (${issue.message})`;
}

/**
 * A `DamagedEntryError` naming `entry` when its data is not what its type holds (`shapeProblem`):
 * `entry N of the log is damaged: its data is not what a sink.paused entry holds (sink is missing); …`.
 * Null when it is sound.
 */
export function misshapenEntryError(entry: { seq: number; type: string; data: unknown }): DamagedEntryError | null {
  const problem = shapeProblem(entry.type, entry.data);
  return problem === null ? null : new DamagedEntryError([entry.seq], `its data is not what a ${entry.type} entry holds (${problem})`);
}

/**
 * What a rebuild reads of an entry, where it is less than its type's shape: an event's
 * `event_type`, `org_id` and `call_id` (the rebuild on SQLite reads no more of it:
 * `rebuild/log-pages.ts` `ENTRY_JSON`), and a `log.truncated` whose snapshot may lack `calls`
 * (a relay before retention kept calls in progress wrote none; the projector takes none as no rows).
 */
const AS_PROJECTED: Partial<Record<string, z.ZodType>> = {
  'event.received': z.looseObject({ event_type: text, org_id: text, call_id: text }),
  'log.truncated': z.looseObject({
    before_seq: num,
    prev_hash: text,
    entries: num,
    calls: num,
    snapshot: SNAPSHOT.extend({ calls: z.array(z.unknown()).optional() }),
    forget_keys: z.array(z.unknown()).optional(),
  }),
};

/**
 * `misshapenEntryError` of `entry` as `replay --rebuild` and `--verify` read it (its facts, on
 * either engine): an event and a `log.truncated` are held to what the rebuild reads of them
 * (`AS_PROJECTED`), every other type to its whole shape. Null when it is sound.
 */
export function projectedEntryError(entry: { seq: number; type: string; data: unknown }): DamagedEntryError | null {
  const shape = AS_PROJECTED[entry.type];
  if (!shape) return misshapenEntryError(entry);
  const problem = problemIn(shape, entry.data);
  return problem === null ? null : new DamagedEntryError([entry.seq], `its data is not what a ${entry.type} entry holds (${problem})`);
}
