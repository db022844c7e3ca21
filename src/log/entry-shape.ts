import { DamagedEntryError } from './damaged-entry.js';
import type { EntryType } from './types.js';

/**
 * The shape each entry type's data has (`types.ts`), as the readers that act on an entry check
 * it: data that is JSON but of another shape (`{}`, a field null or of another type: a hand
 * edit with the append-only trigger lifted) is a damaged entry, named as one (README "Faults"),
 * never a `TypeError` deep in a reader or a value silently taken for another.
 */

/** What a field holds: `?` after a kind lets it be absent. */
type Kind = 'text' | 'text?' | 'text|null' | 'number' | 'boolean' | 'object' | 'object|null' | 'array' | 'array?';

/** Fields and what each holds; a nested shape is an object holding those fields. */
interface Shape {
  [field: string]: Kind | Shape;
}

/** What a truncation's snapshot holds: its rows, as arrays. */
const SNAPSHOT: Shape = { events_by_type: 'array', sink_health: 'array', sink_state: 'array', key_state: 'array', calls: 'array' };

/** Every field of each type's data, and what it holds (`rules.loaded` is read by `last-rules-loaded.ts`). */
const SHAPES: Partial<Record<EntryType, Shape>> = {
  'event.received': { event_id: 'text', event_type: 'text', org_id: 'text', created_at: 'text', received_at: 'text', call_id: 'text', body: 'text' },
  'delivery.planned': {
    delivery_id: 'text',
    event_id: 'text',
    event_seq: 'number',
    event_type: 'text',
    call_id: 'text?',
    rule_id: 'text',
    action_index: 'number',
    sink: 'text',
    request: 'object',
    order_key: 'text|null',
    rules_hash: 'text',
    generation: 'text?',
  },
  'delivery.attempted': { delivery_id: 'text', attempt: 'number', outcome: 'text', duration_ms: 'number', error: 'object|null', retry_at: 'text|null', result: 'object|null' },
  'delivery.dead': { delivery_id: 'text', reason: 'text' },
  'delivery.retried': { delivery_id: 'text', reason: 'text', by: 'text?' },
  'sink.paused': { sink: 'text', reason: 'text', code: 'text', delivery_id: 'text' },
  'sink.resumed': { sink: 'text', reason: 'text', code: 'text', by: 'text?' },
  'pending.stale': { sink: 'text', oldest_pending_at: 'text', count: 'number', delivery_id: 'text', pending_after: 'text' },
  'pending.cleared': { sink: 'text', oldest_pending_at: 'text|null', count: 'number' },
  'call.erased': { call_id: 'text', reason: 'text', by: 'text', downstream: 'boolean' },
  'log.truncated': { before_seq: 'number', prev_hash: 'text', entries: 'number', calls: 'number', snapshot: SNAPSHOT, forget_keys: 'array?' },
};

/** What a value is, in words: `null`, `an array`, or its `typeof`. */
function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** The kind without what else it allows: `text` of `text?` and `text|null`. */
const base = (kind: Kind): string => kind.replace(/\?|\|null/, '');

function holds(kind: Kind, value: unknown): boolean {
  if (value === undefined) return kind.endsWith('?');
  if (value === null) return kind.endsWith('|null');
  switch (base(kind)) {
    case 'text':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    default:
      return typeof value === 'object' && !Array.isArray(value);
  }
}

const NAMES: Record<string, string> = { text: 'text', number: 'a number', boolean: 'true or false', object: 'an object', array: 'an array' };

/**
 * What is wrong with `data` as the data of a `type` entry, in the words of
 * `projection-failure.ts`: `sink is missing`, `count is not a number (string)`, `delivery_id is
 * not text (null)`; the first field found wrong, in the order of `types.ts`. Null when it holds
 * what the type holds, or the type has no shape here (`rules.loaded`, a type this relay does not know).
 */
export function shapeProblem(type: string, data: unknown): string | null {
  const shape = SHAPES[type as EntryType];
  if (!shape) return null;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return `its data is ${kindOf(data)}`;
  return problemIn(shape, data as Record<string, unknown>, '');
}

function problemIn(shape: Shape, data: Record<string, unknown>, path: string): string | null {
  for (const [field, kind] of Object.entries(shape)) {
    const value = data[field];
    const name = `${path}${field}`;
    if (typeof kind === 'object') {
      if (!holds('object', value)) return value === undefined ? `${name} is missing` : `${name} is not an object (${kindOf(value)})`;
      const inner = problemIn(kind, value as Record<string, unknown>, `${name}.`);
      if (inner !== null) return inner;
    } else if (!holds(kind, value)) {
      return value === undefined ? `${name} is missing` : `${name} is not ${NAMES[base(kind)]} (${kindOf(value)})`;
    }
  }
  return null;
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
