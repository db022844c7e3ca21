import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { YamlPath } from './interpolate.js';

export interface Position {
  line: number;
  col: number;
}

/**
 * Where a path points in the source: the value node if it exists, else the deepest
 * ancestor that does (a missing key is reported at the mapping that lacks it).
 * With `key`, the position of that key inside the mapping at `path` (for unknown keys).
 */
export function locate(doc: Document, lines: LineCounter, path: YamlPath, key?: string): Position {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let last: unknown = node;
  for (const segment of key === undefined ? path : [...path, key]) {
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyValue(p.key) === String(segment));
      keyNode = pair?.key;
      node = pair?.value ?? undefined;
      last = withRange(node) ?? withRange(keyNode) ?? last;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      last = withRange(node) ?? last;
    } else {
      break;
    }
    if (node === undefined && keyNode === undefined) break;
  }
  const target = (key !== undefined ? withRange(keyNode) : undefined) ?? last;
  const offset = (target as Node | undefined)?.range?.[0] ?? 0;
  return lines.linePos(offset);
}

function keyValue(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function withRange(node: unknown): Node | undefined {
  return node && typeof node === 'object' && 'range' in node && Array.isArray(node.range) ? (node as Node) : undefined;
}
