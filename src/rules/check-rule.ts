import { sinkKind, type SinkType } from '../sinks/registry.js';
import { compileWhen, type CompiledWhen } from './cel.js';
import { compileAction } from './compile-action.js';
import { didYouMean } from './did-you-mean.js';
import { compileOn, KNOWN_TYPES, matchesKnownType, typesSeen } from './event-matcher.js';
import { celReads, comparisonWarnings, unknownFieldWarnings } from './field-check.js';
import type { YamlPath } from './interpolate.js';
import { knownKeys } from './known-keys.js';
import type { Reporter } from './reporter.js';
import type { RuleItem } from './schema.js';
import type { CompiledAction, CompiledRule } from './types.js';
import { reportIssues } from './zod-problems.js';

/** A rule's well-formed parts; a part that is missing or malformed is undefined (or a null action). */
export interface RuleParts {
  id: string | undefined;
  description: string | undefined;
  on: RuleItem['on'] | undefined;
  when: string | undefined;
  actions: (RuleItem['actions'][number] | null)[];
}

/** Sinks by name; `type` is null for a sink that is declared but itself invalid. */
export type SinkTypes = Map<string, SinkType | null>;

/**
 * Checks the meaning of one shape-valid rule and compiles it: `on` names a known type
 * (warning), `when` compiles to a boolean, each action names a declared sink and fits its type,
 * every template parses. Everything found is reported; the result is only used if nothing was.
 */
export function checkRule(rule: RuleParts, index: number, sinks: SinkTypes, reporter: Reporter): CompiledRule | undefined {
  const at = ['rules', index];
  const patterns = rule.on === undefined ? [] : typeof rule.on === 'string' ? [rule.on] : rule.on;
  patterns.forEach((pattern, i) => {
    if (matchesKnownType(pattern)) return;
    const path = typeof rule.on === 'string' ? [...at, 'on'] : [...at, 'on', i];
    reporter.warn(path, `"${pattern}" matches no known event type${didYouMean(pattern, KNOWN_TYPES)}`);
  });

  // the documented types this rule can see, for warnings about the fields it reads
  const types = typesSeen(compileOn(patterns));
  let when: CompiledWhen | undefined;
  if (rule.when !== undefined) {
    try {
      when = compileWhen(rule.when);
      for (const w of [...unknownFieldWarnings(celReads(when.ast), types), ...comparisonWarnings(when.ast, types)]) reporter.warn([...at, 'when'], w);
    } catch (error) {
      reporter.error([...at, 'when'], `invalid CEL in "when": ${(error as Error).message}`);
    }
  }

  const actions: CompiledAction[] = [];
  rule.actions.forEach((raw, j) => {
    if (!raw) return;
    const path = [...at, 'actions', j];
    if (!sinks.has(raw.sink)) {
      reporter.error([...path, 'sink'], `unknown sink "${raw.sink}"${didYouMean(raw.sink, [...sinks.keys()])}`);
      return;
    }
    const type = sinks.get(raw.sink);
    if (!type) return; // the sink's own problems are reported where it is declared
    const kind = sinkKind(type);
    const parsed = kind.actionSchema.safeParse(raw);
    if (!parsed.success) {
      reportIssues(parsed.error.issues, path, reporter, {
        knownKeys: (p) => knownKeys(kind.actionSchema, raw, p.slice(path.length)),
        keyContext: ` for a ${type} action (sink "${raw.sink}")`,
        data: raw,
      });
      return;
    }
    const report = (p: YamlPath, message: string, severity: 'error' | 'warning' = 'error') =>
      severity === 'warning' ? reporter.warn([...path, ...p], message) : reporter.error([...path, ...p], message);
    kind.check(parsed.data, report);
    actions.push(
      compileAction(type, parsed.data, { sink: raw.sink, index: j }, report, (p, template) => {
        for (const w of unknownFieldWarnings(template.reads ?? [], types)) reporter.warn([...path, ...p], w);
      }),
    );
  });

  if (rule.id === undefined || rule.on === undefined) return undefined;
  return {
    id: rule.id,
    ...(rule.description !== undefined && { description: rule.description }),
    on: compileOn(rule.on),
    ...(when && { when }),
    actions,
  };
}
