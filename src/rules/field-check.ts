import type { ASTNode } from '@marcbachmann/cel-js';
import { didYouMean } from './did-you-mean.js';
import { ENVELOPE_FIELDS, fieldsOf, OPERATOR_EVENT_FIELDS, type FieldType } from './event-fields.js';
import { isOperatorEventType } from '../log/types.js';

/**
 * Static checks of what a rule reads against the fields its event types document
 * (`event-fields.ts`), for `rules check` warnings: a `data.` field none of the rule's event
 * types has (a typo such as `duration_secnds` never matches), and a comparison of a number
 * field with a string literal or the reverse (an error on every event at run time, or, for `==`,
 * `!=` and `in`, the same answer on every event).
 */

/** A path read from the scope: `['data', 'summary']`, `['event', 'data', 'reason']`. */
export type ReadPath = readonly (string | number)[];

/** The `data` field a path reads, if any (`data.x…` or `event.data.x…`). */
function dataField(path: ReadPath): string | undefined {
  if (path[0] === 'data' && typeof path[1] === 'string') return path[1];
  if (path[0] === 'event' && path[1] === 'data' && typeof path[2] === 'string') return path[2];
  return undefined;
}

/** Warnings for the paths a rule reads, given the known event types it matches. */
export function unknownFieldWarnings(paths: readonly ReadPath[], types: readonly string[]): string[] {
  if (types.length === 0) return [];
  const fields = fieldsOf(types);
  const out = new Set<string>();
  const typeList = types.length === 1 ? `${types[0]} events` : `${types.join(', ')} events`;
  // a rule that sees only operator events reads their `event`, which has no event or org id
  const envelope = types.every(isOperatorEventType) ? OPERATOR_EVENT_FIELDS : ENVELOPE_FIELDS;
  for (const path of paths) {
    if (path[0] === 'event' && typeof path[1] === 'string' && !(path[1] in envelope)) {
      out.add(`event.${path[1]} is not a field of ${envelope === ENVELOPE_FIELDS ? 'the envelope' : 'an operator event'}${didYouMean(path[1], Object.keys(envelope))}`);
      continue;
    }
    const field = dataField(path);
    if (field === undefined || fields.has(field)) continue;
    out.add(`data.${field} is not a documented field of ${typeList}${didYouMean(field, [...fields.keys()])}`);
  }
  return [...out];
}

/** The scope path an AST node reads (`data.x`, `data["x"]`, `data.?x`), or undefined. */
function readPath(node: ASTNode): ReadPath | undefined {
  const parts: (string | number)[] = [];
  let n: ASTNode = node;
  for (;;) {
    if (n.op === 'id') return [n.args, ...parts.reverse()];
    if (n.op === '.' || n.op === '.?') {
      parts.push(n.args[1]);
      n = n.args[0];
    } else if ((n.op === '[]' || n.op === '[?]') && n.args[1].op === 'value' && typeof n.args[1].args === 'string') {
      parts.push(n.args[1].args);
      n = n.args[0];
    } else return undefined;
  }
}

/** Every node of a CEL expression, without recursion. */
function nodesOf(root: ASTNode): ASTNode[] {
  const nodes: ASTNode[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) stack.push(...item);
    else if (item && typeof item === 'object' && 'op' in item) {
      nodes.push(item as ASTNode);
      stack.push((item as ASTNode).args);
    }
  }
  return nodes;
}

/** The scope paths a `when` reads (the longest ones: `data.a.b` but not also `data.a`). */
export function celReads(root: ASTNode): ReadPath[] {
  const paths = nodesOf(root)
    .map(readPath)
    .filter((p): p is ReadPath => p !== undefined && p.length >= 2);
  const isPrefix = (a: ReadPath, b: ReadPath) => a.length < b.length && a.every((s, i) => s === b[i]);
  return paths.filter((p) => !paths.some((q) => isPrefix(p, q)));
}

const COMPARISONS = new Set(['<', '<=', '>', '>=', '==', '!=']);

/** Warnings for `data.x < "45"` (a number field and a string) and the reverse. */
export function comparisonWarnings(root: ASTNode, types: readonly string[]): string[] {
  if (types.length === 0) return [];
  const fields = fieldsOf(types);
  const out: string[] = [];
  const compare = (op: string, field: ASTNode, other: ASTNode) => {
    const path = readPath(field);
    const name = path && dataField(path);
    const kind: FieldType | undefined = name === undefined || path!.length !== (path![0] === 'event' ? 3 : 2) ? undefined : fields.get(name);
    if (!kind || other.op !== 'value') return;
    const literal = other.args;
    const isNumber = typeof literal === 'number' || typeof literal === 'bigint';
    if (kind === 'number' && typeof literal === 'string') {
      out.push(`data.${name} is a number, compared (${op}) with the string ${JSON.stringify(literal)}: this fails on every event; write ${/^-?\d+(\.\d+)?$/.test(literal) ? literal : 'a number'}`);
    } else if (kind === 'string' && isNumber) {
      out.push(`data.${name} is a string, compared (${op}) with the number ${String(literal)}: this fails on every event; write "${String(literal)}"`);
    }
  };
  for (const node of nodesOf(root)) {
    if (!COMPARISONS.has(node.op) && node.op !== 'in') continue;
    const [left, right] = node.args as [ASTNode, ASTNode];
    if (COMPARISONS.has(node.op)) {
      compare(node.op, left, right);
      compare(node.op, right, left);
    }
    // `data.x in ["45", "60"]` compares with each item by ==, which is false across types: it never matches, silently
    if (node.op === 'in' && right.op === 'list') {
      const before = out.length;
      for (const item of right.args as ASTNode[]) if (out.length === before) compare('in', left, item); // one warning per list
    }
  }
  return out;
}
