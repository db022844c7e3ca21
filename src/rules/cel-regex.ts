import type { ASTNode } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import { DEFAULTS } from '../config/defaults.js';

/**
 * CEL's `matches` with RE2 (the syntax the CEL spec names), run by re2js in time linear in
 * the input: `data.summary.matches("(a+)+$")` on "aaaa…b" cannot backtrack exponentially, as
 * JavaScript's RegExp (which cel-js uses) does.
 */

const cache = new Map<string, RE2JS>();

/** Compiles an RE2 pattern; throws with re2js' one-line reason when it is not one. */
export function compileRe2(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re) return re;
  re = RE2JS.compile(pattern);
  if (cache.size >= DEFAULTS.rules.regexCacheSize) cache.delete(cache.keys().next().value!);
  cache.set(pattern, re);
  return re;
}

function re2Matches(text: unknown, pattern: unknown): boolean {
  if (typeof text !== 'string' || typeof pattern !== 'string') throw new Error('matches: expects a string and a pattern');
  let re: RE2JS;
  try {
    re = compileRe2(pattern);
  } catch (error) {
    throw new Error(`matches: invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
  return re.matcher(text).find();
}

type Node = ASTNode & { handle?: unknown };

/** Every call node of an expression, method calls (`s.f(x)`) and functions (`f(s, x)`). */
export function callsOf(root: ASTNode): Node[] {
  const found: Node[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (!node || typeof node !== 'object' || !('op' in node)) continue;
    const n = node as Node;
    if (n.op === 'rcall' || n.op === 'call') found.push(n);
    if (typeof n.args === 'object') stack.push(n.args);
  }
  return found;
}

/** True when the expression calls any of `names` (as a method or a function). */
export function matchesCallsNamed(root: ASTNode, names: ReadonlySet<string>): boolean {
  return callsOf(root).some((n) => (n.op === 'rcall' || n.op === 'call') && names.has(n.args[0]));
}

/** Every `matches` call in an expression: `s.matches(p)` and `matches(s, p)`, with its pattern node. */
export function matchesCalls(root: ASTNode): { node: Node; pattern: ASTNode }[] {
  const found: { node: Node; pattern: ASTNode }[] = [];
  for (const n of callsOf(root)) {
    if (n.op === 'rcall' && n.args[0] === 'matches' && n.args[2].length === 1) found.push({ node: n, pattern: n.args[2][0]! });
    if (n.op === 'call' && n.args[0] === 'matches' && n.args[1].length === 2) found.push({ node: n, pattern: n.args[1][1]! });
  }
  return found;
}

/**
 * Points every `matches` call of a type-checked expression at RE2. cel-js evaluates a checked
 * call through its node's `handle(args, …)`; there is no public way to replace a built-in
 * overload, so this sets that handle. `assertRe2Matches` proves at start-up that it took.
 */
export function useRe2ForMatches(root: ASTNode): void {
  for (const { node } of matchesCalls(root)) {
    node.handle = (args: unknown[]) => re2Matches(args[0], args[1]);
  }
}

/** The literal pattern of each `matches` call that is not RE2, with the reason. For load errors. */
export function invalidPatterns(root: ASTNode): string[] {
  const problems: string[] = [];
  for (const { pattern } of matchesCalls(root)) {
    if (pattern.op !== 'value' || typeof pattern.args !== 'string') continue;
    try {
      compileRe2(pattern.args);
    } catch (error) {
      problems.push(`invalid regular expression ${JSON.stringify(pattern.args)} in matches: ${(error as Error).message}`);
    }
  }
  return problems;
}
