import { Environment } from '@marcbachmann/cel-js';
import { useRelayDates } from './cel-dates.js';
import { assertRe2Matches, assertRelayDates } from './cel-self-test.js';
import { invalidPatterns, matchesCallsNamed, useRe2ForMatches } from './cel-regex.js';
import { toCelValue } from './cel-value.js';

import type { Scope } from './liquid.js';
import { DEFAULTS } from '../config/defaults.js';

const environment = new Environment({ enableOptionalTypes: true, limits: DEFAULTS.rules.cel })
  .registerVariable('event', 'map')
  .registerVariable('data', 'map')
  .registerVariable('seq', 'int')
  .registerVariable('received_at', 'string');

/**
 * A `when` outcome. `matched: false` with `missing` is a plain "not matched": the event lacks
 * a field or list element the condition reads (events vary, README "Pointing HuskyVoice at it"). With `error` the
 * condition failed on the event's values (comparing a number with a string, a conversion that
 * fails, a bound exceeded): a rule failure, counted and logged (README "When a rule fails at run time").
 */
export type WhenResult = { matched: boolean; missing?: string; error?: string };

export interface CompiledWhen {
  source: string;
  /** The parsed expression, for static checks (`field-check.ts`). */
  ast: ReturnType<Environment['parse']>['ast'];
  /** It may loop over data (a comprehension or `cel.bind`): it runs under the watchdog. */
  unbounded: boolean;
  evaluate(scope: Scope): WhenResult;
}

/**
 * Calls whose time the event can make long: macros that repeat work over data (comprehensions),
 * reuse a value (`cel.bind`, which can double a string at each level), and `matches`. RE2 never
 * backtracks, but it runs in time of the text times the pattern: `[a-z ]{0,200}[0-9]` on a
 * 1 MB transcript took 13 s. Without them a condition's time follows the event's size.
 */
const LOOPING_CALLS = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'bind', 'matches']);

/** cel-js error codes that mean "the event has no such field or element". */
const MISSING_CODES = new Set(['no_such_key', 'index_out_of_bounds']);

/** First line of a cel-js message; the rest is a caret drawing of the expression. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/**
 * Parses and type-checks once, at load. Throws with a one-line reason when the expression
 * cannot compile, exceeds `DEFAULTS.rules.cel`, has a literal `matches` pattern that is not RE2,
 * or cannot be a boolean.
 */
export function compileWhen(source: string): CompiledWhen {
  let program: ReturnType<Environment['parse']>;
  try {
    program = environment.parse(source);
  } catch (error) {
    throw new Error(firstLine(error));
  }
  const checked = program.check();
  if (!checked.valid) throw new Error(firstLine(checked.error));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new Error(`must be a boolean expression, but it is ${checked.type}`);
  }
  const [badPattern] = invalidPatterns(program.ast);
  if (badPattern) throw new Error(badPattern);
  useRe2ForMatches(program.ast);
  useRelayDates(program.ast);
  return {
    source,
    ast: program.ast,
    unbounded: matchesCallsNamed(program.ast, LOOPING_CALLS),
    evaluate(scope) {
      try {
        const value = program({ event: toCelValue(scope.event), data: toCelValue(scope.data), seq: BigInt(scope.seq), received_at: scope.received_at });
        if (typeof value === 'boolean') return { matched: value };
        return { matched: false, error: `evaluated to ${typeof value}, not a boolean` };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && MISSING_CODES.has(code)) return { matched: false, missing: firstLine(error) };
        return { matched: false, error: firstLine(error) };
      }
    },
  };
}

assertRe2Matches(compileWhen);
assertRelayDates(compileWhen);
