import { Environment } from '@marcbachmann/cel-js';
import type { Scope } from './liquid.js';

const environment = new Environment({ enableOptionalTypes: true })
  .registerVariable('event', 'map')
  .registerVariable('data', 'map')
  .registerVariable('seq', 'int')
  .registerVariable('received_at', 'string');

export type WhenResult = { matched: boolean; error?: string };

export interface CompiledWhen {
  source: string;
  evaluate(scope: Scope): WhenResult;
}

/** First line of a cel-js message; the rest is a caret drawing of the expression. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/**
 * Parses and type-checks once, at load. Throws with a one-line reason when the expression
 * cannot compile or cannot be a boolean.
 */
export function compileWhen(source: string): CompiledWhen {
  let program: ReturnType<Environment['parse']>;
  try {
    program = environment.parse(source);
  } catch (error) {
    throw new Error(firstLine(error));
  }
  const checked = environment.check(source);
  if (!checked.valid) throw new Error(firstLine(checked.error));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new Error(`must be a boolean expression, but it is ${checked.type}`);
  }
  return {
    source,
    evaluate(scope) {
      try {
        const value = program({ ...scope, seq: BigInt(scope.seq) });
        if (typeof value === 'boolean') return { matched: value };
        return { matched: false, error: `evaluated to ${typeof value}, not a boolean` };
      } catch (error) {
        // A missing field is "not matched", not a failure: events vary (SPEC §1).
        return { matched: false, error: firstLine(error) };
      }
    },
  };
}
