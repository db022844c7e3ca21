import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import { exceedsDepth } from '../json-depth.js';
import { readRulesFile } from './read-rules-file.js';
import { checkRule, type RuleParts, type SinkTypes } from './check-rule.js';
import { interpolate, type YamlPath } from './interpolate.js';
import { knownKeys } from './known-keys.js';
import { sortProblems, type Problem } from './problem.js';
import { Reporter } from './reporter.js';
import { actionRefSchema, ruleItemSchema, ruleName, rulesFileSchema, sinkSchema, type RulesFile, type SinkItem } from './schema.js';
import type { AlertsConfig, CompiledRule, LoadedRules, LoadedSink, LoadOptions, LoadResult } from './types.js';
import { parseDuration } from './duration.js';
import { span } from './schema-parts.js';
import { reportIssues } from './zod-problems.js';
import { DEFAULTS } from '../config/defaults.js';
import { retryOverrides, toSinkConfig } from '../sinks/common-options.js';
import { isSinkType, sinkKind } from '../sinks/registry.js';
import { isJsonObject } from '../json-object.js';

/** Reads and loads a rules file. `env` stands for the environment: `${VAR}` comes from it. */
export async function loadRules(
  path: string,
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const read = await readRulesFile(path);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  return loadRulesFromText(read.text, path, env, opts, read.bytes);
}

/**
 * Parses, interpolates, validates and compiles a rules file. Pure apart from hashing:
 * reports every problem it finds (errors and warnings, `FILE:LINE:COL`) rather than the first.
 * Never throws: input that breaks the loader itself (nesting that overflows the stack) is a
 * problem too.
 */
export function loadRulesFromText(
  text: string,
  path: string,
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
  bytes: Uint8Array = Buffer.from(text, 'utf8'),
): LoadResult {
  try {
    return loadUnguarded(text, path, env, opts, bytes);
  } catch (error) {
    const message = error instanceof RangeError ? 'the file nests too deeply to read' : `cannot load: ${(error as Error).message}`;
    return { ok: false, problems: [{ file: path, line: 1, col: 1, message, severity: 'error' }] };
  }
}

function loadUnguarded(
  text: string,
  path: string,
  env: Record<string, string | undefined>,
  opts: LoadOptions = {},
  bytes: Uint8Array = Buffer.from(text, 'utf8'),
): LoadResult {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const reporter = new Reporter(path, doc, lines);
  const problems = (): Problem[] => sortProblems(reporter.problems);

  if (doc.errors.length) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      const first = e.message.split('\n')[0]!;
      const message = /call stack/i.test(first) ? 'YAML: nested too deeply to read' : `YAML: ${first}`;
      reporter.problems.push({ file: path, line: pos.line, col: pos.col, message, severity: 'error' });
    }
    return { ok: false, problems: problems() };
  }

  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: DEFAULTS.rules.maxYamlAliases });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const at = firstAlias(doc);
    const pos = lines.linePos(at);
    const message = `YAML: aliases expand to too much (more than ${DEFAULTS.rules.maxYamlAliases} alias uses): refused as a resource exhaustion attack`;
    reporter.problems.push({ file: path, line: pos.line, col: pos.col, message, severity: 'error' });
    return { ok: false, problems: problems() };
  }
  if (exceedsDepth(plain, DEFAULTS.rules.maxNesting)) {
    reporter.problems.push({ file: path, line: 1, col: 1, message: `the file nests deeper than ${DEFAULTS.rules.maxNesting} levels`, severity: 'error' });
    return { ok: false, problems: problems() };
  }
  const { value, unset } = interpolate(plain, env);
  const disabled = new Map<string, string[]>();
  for (const { path: at, variable } of unset) {
    if (at[0] === 'sinks' && typeof at[1] === 'string') {
      disabled.set(at[1], [...(disabled.get(at[1]) ?? []), variable]);
      const message = `sink "${at[1]}" is disabled: \${${variable}} is not set`;
      if (opts.strict) reporter.error(at, message);
      else reporter.warn(at, message);
    } else {
      reporter.error(at, `\${${variable}} is not set`);
    }
  }
  const isUnset = (at: YamlPath) => unset.some((u) => u.path.length === at.length && u.path.every((s, i) => s === at[i]));

  const top = rulesFileSchema.safeParse(value);
  if (!top.success) {
    reportIssues(top.error.issues, [], reporter, {
      knownKeys: (p) => knownKeys(rulesFileSchema, value, p),
      skip: isUnset,
      data: value,
    });
  }

  // Check what can be checked even when other parts are broken, so one run shows everything.
  const file = (value ?? {}) as Partial<Record<keyof RulesFile, unknown>>;
  const sinkTypes: SinkTypes = new Map();
  const sinks: Record<string, LoadedSink> = {};
  if (isJsonObject(file.sinks)) {
    for (const [name, raw] of Object.entries(file.sinks)) {
      const named = ruleName.safeParse(name);
      if (!named.success) reporter.error(['sinks', name], `sink name ${JSON.stringify(name)}: ${named.error.issues[0]!.message}`);
      const parsed = sinkSchema.safeParse(raw);
      // A field left empty by an unset ${VAR} (a url, say) does not make the sink invalid: it is disabled.
      const fatal = parsed.success ? [] : parsed.error.issues.filter((i) => !isUnset(['sinks', name, ...pathOf(i.path)]));
      // (a `type` left empty by an unset ${VAR} names no kind: such a sink cannot be built)
      let item = parsed.success ? parsed.data : fatal.length || !isJsonObject(raw) || !isSinkType(raw.type) ? undefined : (raw as SinkItem);
      // what its kind checks beyond the shape (an http signing secret that cannot sign) makes it invalid too
      if (item) {
        let invalid = false;
        sinkKind(item.type).checkConfig(item, (at, message) => {
          reporter.error(['sinks', name, ...at], message);
          invalid = true;
        });
        if (invalid) item = undefined;
      }
      // An otherwise broken sink still has a type its actions can be checked against.
      const declared = isJsonObject(raw) && isSinkType(raw.type) ? raw.type : null;
      sinkTypes.set(name, item ? item.type : declared);
      if (!item) continue;
      const vars = disabled.get(name);
      sinks[name] = {
        config: toSinkConfig(item),
        enabled: !vars,
        ...(vars && { disabled_reason: `${vars.map((v) => `\${${v}}`).join(', ')} not set` }),
      };
    }
  }

  const rules: CompiledRule[] = [];
  const firstById = new Map<string, number>();
  if (Array.isArray(file.rules)) {
    file.rules.forEach((raw, i) => {
      // Shape problems were reported above; check the meaning of whatever parts are well-formed.
      const rule = ruleParts(raw);
      if (rule.id !== undefined) {
        const first = firstById.get(rule.id);
        if (first !== undefined) {
          reporter.error(['rules', i, 'id'], `duplicate rule id "${rule.id}" (first used at line ${reporter.lineOf(['rules', first, 'id'])})`);
        } else firstById.set(rule.id, i);
      }
      const compiled = checkRule(rule, i, sinkTypes, reporter);
      if (compiled) rules.push(compiled);
    });
  }

  const alerts = alertsOf(file.alerts, reporter);
  if (reporter.hasErrors()) return { ok: false, problems: problems() };
  const retry = top.success ? top.data.retry : (value as RulesFile).retry;
  const loaded: LoadedRules = {
    path,
    hash,
    sinks,
    retry: { ...DEFAULTS.delivery.retry, ...retryOverrides(retry) },
    alerts,
    rules,
  };
  return { ok: true, rules: loaded, warnings: problems() };
}

/** `alerts` over the defaults; a `pending_after` of zero is an error (every open delivery would be stale at once). */
function alertsOf(raw: unknown, reporter: Reporter): AlertsConfig {
  const text = isJsonObject(raw) && typeof raw.pending_after === 'string' ? raw.pending_after : undefined;
  const ms = text === undefined ? null : parseDuration(text);
  if (ms === 0) reporter.error(['alerts', 'pending_after'], 'pending_after must be longer than 0 (write it like 15m)');
  if (text === undefined || ms === null || ms === 0) return { pending_after_ms: DEFAULTS.alerts.pendingAfterMs, pending_after: span(DEFAULTS.alerts.pendingAfterMs) };
  return { pending_after_ms: ms, pending_after: text };
}

/** Offset of the first alias in the document (where an alias bomb starts to expand). */
function firstAlias(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** The well-formed parts of a rule, each checked on its own. */
function ruleParts(raw: unknown): RuleParts {
  const r = isJsonObject(raw) ? raw : {};
  const shape = ruleItemSchema.shape;
  const part = <T>(schema: { safeParse(v: unknown): { success: boolean; data?: T } }, v: unknown): T | undefined => {
    const parsed = schema.safeParse(v);
    return parsed.success ? parsed.data : undefined;
  };
  return {
    id: part(shape.id, r.id),
    description: part(shape.description, r.description),
    on: part(shape.on, r.on),
    when: part(shape.when, r.when),
    actions: Array.isArray(r.actions) ? r.actions.map((a) => part(actionRefSchema, a) ?? null) : [],
  };
}

function pathOf(path: PropertyKey[]): YamlPath {
  return path.map((p) => (typeof p === 'symbol' ? String(p) : p));
}

