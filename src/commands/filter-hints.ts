import { DELIVERY_STATUSES } from '../delivery/lifecycle.js';
import { ENTRY_TYPES, isOperatorEventType, type Entry } from '../log/types.js';
import type { Store } from '../log/store.js';
import { loadRules } from '../rules/load-rules.js';
import { didYouMean, unknownNameLine } from '../rules/did-you-mean.js';
import type { Globals } from './globals.js';
import { logBoundsOf, notOperatorEvent, operatorSeq, removedBefore, type LogBounds } from './log-bounds.js';
import { printable } from './table.js';
import { KNOWN_EVENT_TYPES } from '../receive/envelope.js';

/**
 * The hint of README "Command line": a filter naming what the relay does not know (a sink or rule neither in
 * the rules in force nor in the log, a status that does not exist, a call or event not in the
 * log, a `log --type` pattern that matches no type of entry, a `replay --type` that read no event and names no HuskyVoice type) prints the empty result as usual and, on a terminal, one line on stderr per such filter
 * naming the known ones; exit 0. Piped output stays exactly the result.
 */

/** The values of `deliveries` and `log` filters; absent ones are not checked. */
export interface FilterValues {
  status?: string;
  sink?: string;
  rule?: string;
  call?: string;
  event?: string;
  /** `log --type` patterns, SQLite GLOB as the log reads them (`*`, `?`, `[...]`). */
  types?: string[];
  /** `replay --type`: a pattern of HuskyVoice event types (a glob: `call.*`), hinted only when the replay read no event. */
  eventType?: string;
  /**
   * The empty result is a list of deliveries (`deliveries`): an operator event's hint then says no alert
   * of it is listed, instead of pointing at `deliveries --event`, the command just run. (Default: false, `log`)
   */
  listsDeliveries?: boolean;
}

/** What the relay knows, for each filter given. */
export interface KnownNames {
  /** The rules' sinks and rule ids, and those the log's deliveries name. */
  sinks: readonly string[];
  rules: readonly string[];
  /** Whether the log holds the call and the event named (undefined: not asked). */
  callExists?: boolean;
  eventExists?: boolean;
  /** For an event id `op-SEQ`: the type of the log's entry SEQ when it is an operator event, else null (undefined: not asked). */
  operatorEventType?: string | null;
  /**
   * For that operator event: why the router plans no alert of it, whatever the rules (`routablesOf`):
   * `erasure` (a dead letter an erasure closed), `alert` (raised by an alert's delivery),
   * `damaged` (its data is not what its type holds: the router skips it); null
   * or undefined when it is routed (a rule whose `on:` matches it alerts on it).
   */
  operatorEventUnrouted?: keyof typeof UNROUTED | null;
  /** Where the log starts and ends, and whether retention removed calls' entries (undefined: not asked). */
  bounds?: LogBounds;
}

const q = (value: string) => `"${printable(value)}"`;

function nameHint(what: string, plural: string, value: string, known: readonly string[], where: string): string | null {
  const line = unknownNameLine(what, plural, value, known, where);
  return line === null ? null : printable(line);
}

/** SQLite's GLOB as a regular expression (case-sensitive; `*` any run, `?` one character, `[...]` a set); null if it is not one. */
function globRegExp(glob: string): RegExp | null {
  const source = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  try {
    return new RegExp(`^${source}$`, 's');
  } catch {
    return null;
  }
}

/** The hint for a `log --type` pattern that matches no entry type: a call's event type (call.completed) is the usual slip. */
function typeHint(pattern: string): string | null {
  const matchesAny = (glob: string) => {
    const regexp = globRegExp(glob);
    return regexp === null || ENTRY_TYPES.some((type) => regexp.test(type));
  };
  if (matchesAny(pattern)) return null;
  const lower = pattern.toLowerCase();
  const closest = lower !== pattern && matchesAny(lower) ? ` (did you mean ${q(lower)}?)` : /[*?[]/.test(pattern) ? '' : didYouMean(pattern, ENTRY_TYPES);
  const eventType = /^call\./.test(pattern) ? ' (a call event is an event.received entry: try --call CALL_ID, or log --json)' : '';
  return `no entry type ${q(pattern)}${closest}${eventType}; known types: ${ENTRY_TYPES.join(', ')}`;
}

/**
 * The hint for a `replay --type` pattern that read no event and matches none of the five types
 * HuskyVoice documents (others are stored too, so a pattern matching one of those is no slip).
 */
function eventTypeHint(pattern: string): string | null {
  const regexp = globRegExp(pattern);
  if (regexp === null || KNOWN_EVENT_TYPES.some((type) => regexp.test(type))) return null;
  const closest = /[*?[]/.test(pattern) ? '' : didYouMean(pattern, KNOWN_EVENT_TYPES);
  return `no event of type ${q(pattern)} in the log${closest}; HuskyVoice's event types: ${KNOWN_EVENT_TYPES.join(', ')}`;
}

/** What the hint says of an operator event the router does not route: it has no alert, whatever the rules. */
const UNROUTED = {
  erasure: ', a dead letter an erasure closed: no rule alerts on it (an erasure is asked for, no delivery failed)',
  alert: ', raised by an alert: no rule alerts on it (no alert about an alert)',
  damaged: ', which is damaged: the router skips it, so no rule alerts on it (husky-relay log --verify)',
} as const;

/** The hint for an event id no call event has; an operator event's id (`op-SEQ`, what an alert's delivery shows) names its entry instead. */
function eventHint(id: string, known: KnownNames, listsDeliveries: boolean): string {
  const { operatorEventType, bounds } = known;
  const seq = operatorSeq(id);
  if (seq !== null && typeof operatorEventType === 'string') {
    const unrouted = known.operatorEventUnrouted;
    const alerts = unrouted
      ? UNROUTED[unrouted]
      : listsDeliveries
        ? `; no alert of it is listed: one is planned only by a rule whose on: matches ${operatorEventType}`
        : `, whose alerts \`deliveries --event ${id}\` lists`;
    return `no call event ${q(id)}: it names the operator event at seq ${seq} (${operatorEventType})${alerts} (log --json shows the entry)`;
  }
  // op-SEQ past the log's end, of an entry retention removed, or of one of another type names nothing: no alert has it
  if (seq !== null && bounds) return `no event ${q(id)} in the log${notOperatorEvent(seq, bounds)}`;
  return `no event ${q(id)} in the log${removedBefore(bounds, 'events')}`;
}

/** The hint lines for these filters (without the `husky-relay: ` prefix), none when every name is known. Pure. */
export function filterHints(filters: FilterValues, known: KnownNames): string[] {
  const lines = [
    filters.status === undefined ? null : nameHint('status', 'statuses', filters.status, DELIVERY_STATUSES, ''),
    filters.sink === undefined ? null : nameHint('sink', 'sinks', filters.sink, known.sinks, ' in the rules or the log'),
    filters.rule === undefined ? null : nameHint('rule', 'rules', filters.rule, known.rules, ' in the rules or the log'),
    filters.call === undefined || known.callExists !== false ? null : `no call ${q(filters.call)} in the log${removedBefore(known.bounds, 'calls')}`,
    filters.event === undefined || known.eventExists !== false ? null : eventHint(filters.event, known, filters.listsDeliveries === true),
    ...(filters.types ?? []).map(typeHint),
    filters.eventType === undefined ? null : eventTypeHint(filters.eventType),
  ];
  return lines.filter((line): line is string => line !== null);
}

/** The rules' sink and rule names, or none when the file does not load (its problems are `rules check`'s to tell). */
async function rulesNames(g: Globals): Promise<{ sinks: string[]; rules: string[] }> {
  const loaded = await loadRules(g.rulesPath, g.env);
  return loaded.ok ? { sinks: Object.keys(loaded.rules.sinks), rules: loaded.rules.rules.map((r) => r.id) } : { sinks: [], rules: [] };
}

/** The sinks the rules file declares (`--rules`), none when it does not load: what `retry --dead --sink` and `resume` know besides the log. */
export async function rulesSinkNames(g: Globals): Promise<string[]> {
  return (await rulesNames(g)).sinks;
}

const union = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();

/**
 * After a command printed an empty result: on a terminal, the hints of its filters on stderr.
 * Reads the rules and the log only then, so a result with rows, or a pipe, costs nothing more.
 */
export async function hintEmptyResult(
  filters: FilterValues,
  store: Store,
  g: Globals,
  stderr: { isTTY?: boolean; write(line: string): unknown } = process.stderr,
): Promise<void> {
  if (stderr.isTTY !== true) return;
  const needsNames = filters.sink !== undefined || filters.rule !== undefined;
  const [inLog, inRules] = needsNames ? await Promise.all([store.projections.names(), rulesNames(g)]) : [{ sinks: [], rules: [] }, { sinks: [], rules: [] }];
  const callExists = filters.call === undefined ? undefined : await store.projections.hasCall(filters.call);
  const eventExists = filters.event === undefined ? undefined : await store.projections.hasEvent(filters.event);
  const operator = filters.event === undefined ? undefined : await operatorEntry(store, filters.event);
  const known: KnownNames = {
    sinks: union(inLog.sinks, inRules.sinks),
    rules: union(inLog.rules, inRules.rules),
    callExists,
    eventExists,
    operatorEventType: operator === undefined ? undefined : (operator?.type ?? null),
    operatorEventUnrouted: operator ? await unroutedBecause(store, operator) : undefined,
    // only for a call or event not found: where the log ends, and whether retention may have removed it
    bounds: callExists === false || eventExists === false ? await logBoundsOf(store.log) : undefined,
  };
  for (const line of filterHints(filters, known)) stderr.write(`husky-relay: ${line}\n`);
}

/** The operator entry an `op-SEQ` event id names, null when that entry is none (or there is none). */
async function operatorEntry(store: Store, id: string): Promise<Entry | null> {
  const seq = operatorSeq(id);
  if (seq === null) return null;
  const [entry] = await store.log.read(seq - 1, { limit: 1, facts: true });
  return entry !== undefined && entry.seq === seq && isOperatorEventType(entry.type) ? entry : null;
}

/** Why the router plans no alert of this operator entry (the router's own `routablesOf` decides), or null when it routes it. */
async function unroutedBecause(store: Store, entry: Entry): Promise<keyof typeof UNROUTED | null> {
  // the router's modules (and the rules engine they bring) load only for an op-SEQ id
  const [{ routablesOf, erasureDeadLetter }, { silentLogger }] = await Promise.all([import('../route/operator-events.js'), import('../logger.js')]);
  const [routable] = await routablesOf([entry], store.log, silentLogger);
  if (routable?.event !== null) return null;
  if (routable.damaged) return 'damaged';
  return erasureDeadLetter(entry) ? 'erasure' : 'alert';
}
