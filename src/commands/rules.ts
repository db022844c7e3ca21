import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseEnvelope } from '../receive/envelope.js';
import { deadReason } from '../route/not-planned.js';
import { erasureDeadLetter, operatorEvent } from '../route/operator-events.js';
import { eventIdOf, explainEvent, type PlannableEvent } from '../route/plan-event.js';
import { isOperatorEventType, OPERATOR_EVENT_TYPES } from '../log/types.js';
import { didYouMean } from '../rules/did-you-mean.js';
import { printable, printableLines } from './table.js';
import { utf8Text } from '../utf8.js';
import { ERASED } from '../privacy/payload.js';
import { parseDateTime } from '../dates.js';
import { loadRules } from '../rules/load-rules.js';
import { formatProblem } from '../rules/problem.js';
import { rulesJsonSchema } from '../rules/schema.js';
import type { LoadedRules, LoadOptions } from '../rules/types.js';
import { count } from '../count.js';

/** Where command output goes; tests pass collectors, the CLI passes stdout/stderr. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/**
 * The terminal: stdout and stderr, each line made `printable` (an event's ids and text, a
 * template's output, a parse error quoting the file), so what an event carries is shown as
 * `\u001b`-style escapes and never acted on; the output's own line breaks stay.
 */
export const stdio: Output = {
  out: (line) => process.stdout.write(`${printableLines(line)}\n`),
  err: (line) => process.stderr.write(`${printableLines(line)}\n`),
};

type Env = Record<string, string | undefined>;

/** `rules check`: every problem as FILE:LINE:COL: message. 0 when the file loads, else 1. */
export async function rulesCheck(path: string, env: Env, opts: LoadOptions, io: Output = stdio): Promise<number> {
  const result = await loadRules(path, env, opts);
  const problems = result.ok ? result.warnings : result.problems;
  for (const p of problems) io.err(formatProblem(p));
  if (!result.ok) {
    const errors = problems.filter((p) => p.severity === 'error').length;
    io.err(`${path}: ${count(errors, 'error', 'errors')}`);
    return 1;
  }
  const { sinks, rules } = result.rules;
  const enabled = Object.values(sinks).filter((s) => s.enabled).length;
  io.out(`${path}: ok (${count(rules.length, 'rule', 'rules')}, ${count(Object.keys(sinks).length, 'sink', 'sinks')}, ${enabled} enabled)`);
  return 0;
}

/** `rules schema`: the JSON Schema of the rules file, from the same zod definitions the loader uses. */
export function rulesSchema(io: Output = stdio): number {
  io.out(JSON.stringify(rulesJsonSchema(), null, 2));
  return 0;
}

/**
 * Reads EVENT.json: a bare envelope (seq 0, received now), a `log --json` line of an
 * `event.received` entry (its own seq, received_at and body), or an operator event (README "When a rule fails at run time"):
 * its scope `{"event_type":"delivery.dead","created_at":…,"data":{…}}` or a `log --json` line of
 * an operator entry (`sink.paused`…; a `delivery.dead` line holds only `delivery_id` and `reason`,
 * so the scope form is the one to test a dead letter's `sink` or `rule_id` with).
 */
export function parseTestEvent(text: string, now: () => Date): { ok: true; event: PlannableEvent } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `not JSON: ${(error as Error).message}` };
  }
  const operator = parseOperatorEvent(value, now);
  if (operator) return operator;
  let seq = 0;
  let received_at = now().toISOString();
  let body = text; // a bare envelope: the file is what HuskyVoice would have sent
  const entry = value as { type?: unknown; seq?: unknown; data?: { body?: unknown; received_at?: unknown } };
  if (entry && entry.type === 'event.received' && entry.data?.body === ERASED) {
    const d = entry.data as { event_id?: unknown; call_id?: unknown };
    return { ok: false, message: `event ${printable(String(d.event_id ?? '?'))} (call ${printable(String(d.call_id ?? '?'))}) is [erased]: its body was erased with its call's personal data, so there is nothing to test` };
  }
  if (entry && entry.type === 'event.received' && typeof entry.data?.body === 'string') {
    seq = typeof entry.seq === 'number' ? entry.seq : 0;
    if (typeof entry.data.received_at === 'string') received_at = entry.data.received_at;
    body = entry.data.body;
    try {
      value = JSON.parse(entry.data.body);
    } catch {
      return { ok: false, message: 'the entry body is not JSON' };
    }
  }
  const parsed = parseEnvelope(value);
  if (!parsed.ok) {
    return { ok: false, message: notOperatorEvent(value) ?? `not a HuskyVoice envelope: ${parsed.details.map((d) => `${d.path}: ${d.message}`).join('; ')}` };
  }
  return { ok: true, event: { seq, received_at, envelope: parsed.envelope, body } };
}

/**
 * What to say about an object meant as an operator event whose type is none (`pending.stal`, a
 * `delivery.planned` log line): its type, the closest operator event, and the ones there are.
 * Null for anything that looks like a HuskyVoice event (it has an `event_id`, or a `call.` type).
 */
function notOperatorEvent(value: unknown): string | null {
  if (!value || typeof value !== 'object' || Array.isArray(value) || 'event_id' in value) return null;
  const v = value as Record<string, unknown>;
  const type = typeof v['type'] === 'string' ? v['type'] : v['event_type'];
  if (typeof type !== 'string' || type.startsWith('call.')) return null;
  const line = typeof v['type'] === 'string';
  const which = line ? `a log line of a "${printable(type)}" entry` : `"${printable(type)}"`;
  return `${which} is not an operator event${line ? '' : didYouMean(type, OPERATOR_EVENT_TYPES)}; rules test takes a HuskyVoice event, an event.received log line, or one of ${OPERATOR_EVENT_TYPES.join(', ')}`;
}

/** An operator event's scope or `log --json` line, as `rules test` reads it; null when `value` is neither. */
function parseOperatorEvent(value: unknown, now: () => Date): { ok: true; event: PlannableEvent } | { ok: false; message: string } | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const line = typeof v['type'] === 'string' && isOperatorEventType(v['type']);
  const type = line ? v['type'] : v['event_type'];
  if (typeof type !== 'string' || !isOperatorEventType(type) || (!line && 'event_id' in v)) return null;
  const data = v['data'];
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { ok: false, message: `an operator event (${type}) needs "data", an object of its fields` };
  const at = line ? v['at'] : v['created_at'];
  if (at !== undefined && (typeof at !== 'string' || parseDateTime(at) === null)) {
    return { ok: false, message: `${line ? 'at' : 'created_at'}: expected an RFC 3339 date-time such as 2026-06-01T10:00:00Z` };
  }
  const seq = line && typeof v['seq'] === 'number' ? v['seq'] : 0;
  return { ok: true, event: operatorEvent(seq, type, typeof at === 'string' ? at : now().toISOString(), data as Record<string, unknown>) };
}

/**
 * `rules test EVENT.json`: the rules that match, each action rendered exactly as it would be
 * sent (pretty JSON), then the rules that do not and why. Sends nothing.
 */
export async function rulesTest(
  rulesPath: string,
  eventPath: string,
  env: Env,
  io: Output = stdio,
  now: () => Date = () => new Date(),
): Promise<number> {
  const result = await loadRules(rulesPath, env);
  if (!result.ok) {
    for (const p of result.problems) io.err(formatProblem(p));
    return 1;
  }
  for (const p of result.warnings) io.err(formatProblem(p));
  let bytes: Buffer;
  try {
    bytes = await readFile(eventPath);
  } catch (error) {
    io.err(`${eventPath}: cannot read: ${(error as Error).message}`);
    return 1;
  }
  let text: string;
  try {
    text = utf8Text(bytes); // read as ingest reads a body: a leading BOM is not part of the JSON
  } catch {
    io.err(`${eventPath}: not UTF-8 text; the relay would refuse it (400 invalid_json)`);
    return 1;
  }
  return testEvent(result.rules, text, eventPath, io, now);
}

/**
 * What `rules test` prints for one event's text (any form `parseTestEvent` reads) against
 * loaded rules: the matching rules with each action rendered, then the others and why. The
 * console's rules page shows the same lines. `where` names the text in a message (a file).
 * Returns the exit code: 1 when the text is not an event.
 */
export function testEvent(rules: LoadedRules, text: string, where: string, io: Output, now: () => Date = () => new Date()): number {
  const parsed = parseTestEvent(text, now);
  if (!parsed.ok) {
    io.err(`${where}: ${parsed.message}`);
    return 1;
  }
  const event = parsed.event;
  const verdicts = explainEvent(rules, event);
  const matched = verdicts.filter((v) => v.matched);
  const what = event.operator ? `operator event ${event.envelope.event_type} (seq ${event.seq})` : `event ${eventIdOf(event)} (${event.envelope.event_type})`;
  io.out(`${what}: ${matched.length} of ${count(verdicts.length, 'rule matches', 'rules match')}`);
  // the router never routes an erasure's dead letter (README "Erasure"): what matches it is never sent
  if (event.operator && erasureDeadLetter({ type: event.envelope.event_type, data: event.envelope.data })) {
    io.out(`note: a dead letter an erasure closed raises no alert: the relay plans nothing for it, whatever matches below`);
  }
  for (const v of verdicts) {
    if (!v.matched) continue;
    io.out('');
    io.out(`✓ ${v.rule_id}`);
    for (const a of v.actions) {
      const plan = a.plan;
      const sink = rules.sinks[plan.sink];
      if (!a.ok) {
        io.out(`  action ${plan.action_index} → ${plan.sink}: FAILS, the delivery would go dead: ${deadReason(a.reason)}`);
        continue;
      }
      const state = sink && !sink.enabled ? ` (disabled: ${sink.disabled_reason}; would wait as pending)` : '';
      io.out(`  action ${plan.action_index} → ${plan.sink} [${sink?.config.type ?? '?'}]${state}`);
      io.out(`  delivery ${plan.delivery_id}, order key ${plan.order_key ?? '(none)'}`);
      for (const w of a.warnings) io.out(`  warning: ${w}`);
      const { body_text: text, ...shown } = plan.request;
      io.out(indent(JSON.stringify(shown, null, 2), '  '));
      // the original envelope is sent as received: shown as it is, not as an escaped JSON string
      if (typeof text === 'string') io.out(`  body, sent byte for byte (the event as received, ${Buffer.byteLength(text)} bytes):\n${indent(text.replace(/\n$/, ''), '    ')}`);
    }
  }
  const unmatched = verdicts.filter((v) => !v.matched);
  if (unmatched.length) io.out('');
  for (const v of unmatched) if (!v.matched) io.out(`✗ ${v.rule_id}: ${v.message}`);
  return 0;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** Adds `rules check|test|schema` to the program; the lead's cli.ts owns the global options. */
export function registerRulesCommands(
  program: Command,
  getGlobal: () => { rulesPath: string; env: Record<string, string | undefined> },
): Command {
  const rules = program.command('rules').description('check, try and describe the rules file');
  rules
    .command('check')
    .description('validate the rules file; problems as FILE:LINE:COL: message')
    .option('--strict', 'a sink whose ${VAR} is unset is an error, not a warning')
    .action(async (opts: { strict?: boolean }) => {
      const { rulesPath, env } = getGlobal();
      process.exitCode = await rulesCheck(rulesPath, env, { strict: opts.strict === true });
    });
  rules
    .command('test')
    .description('show which rules match an event and the fully rendered actions; sends nothing')
    .argument('<EVENT.json>', 'a HuskyVoice envelope, an operator event ({"event_type":"delivery.dead","data":{…}}), or a line of `log --json`')
    .action(async (eventPath: string) => {
      const { rulesPath, env } = getGlobal();
      process.exitCode = await rulesTest(rulesPath, eventPath, env);
    });
  rules
    .command('schema')
    .description('print the JSON Schema of the rules file')
    .action(() => {
      process.exitCode = rulesSchema();
    });
  return rules;
}
