
import type { EnvelopeProblem } from './envelope.js';
import { DEFAULTS } from '../config/defaults.js';

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
/** The longest path a problem names; deeper ones end in "…". */
const MAX_PATH_CHARS = 200;

/**
 * The 422 detail for a body that nests objects and arrays deeper than `limit`
 * (`DEFAULTS.http.maxJsonDepth`: the relay's threads, templates and SDKs all recurse, and a value thousands
 * of levels deep overflows the stack in any of them), or null for every other body.
 *
 * Cheap for the usual event: a body cannot nest deeper than the brackets it holds, so the
 * bytes are counted first (memchr speed, stopping at `limit + 1`), and the parsed value is only
 * walked (without recursion, stopping at the first level too deep) when there are enough.
 * `{}` and `[]` are one level, the envelope itself is the first.
 */
export function nestingProblem(bytes: Buffer, value: unknown, limit = DEFAULTS.http.maxJsonDepth): EnvelopeProblem | null {
  if (!enoughBrackets(bytes, limit + 1)) return null;
  const path = firstTooDeep(value, limit);
  if (path === null) return null;
  let where = path.length ? path.join('.') : '(root)';
  if (where.length > MAX_PATH_CHARS) where = `${where.slice(0, MAX_PATH_CHARS)}…`;
  return { path: where, message: `nested deeper than ${limit} levels of objects and arrays (the limit) here` };
}

function enoughBrackets(bytes: Buffer, needed: number): boolean {
  let count = 0;
  for (const bracket of [OPEN_ARRAY, OPEN_OBJECT]) {
    for (let at = bytes.indexOf(bracket); at !== -1; at = bytes.indexOf(bracket, at + 1)) {
      if (++count >= needed) return true;
    }
  }
  return false;
}

interface Level {
  value: object;
  depth: number;
  parent: Level | null;
  key: string;
}

/** The path (keys, array indexes) of the first object or array at depth `limit + 1`, or null. */
function firstTooDeep(value: unknown, limit: number): string[] | null {
  if (value === null || typeof value !== 'object') return null;
  const stack: Level[] = [{ value, depth: 1, parent: null, key: '' }];
  while (stack.length > 0) {
    const level = stack.pop()!;
    if (level.depth > limit) return pathOf(level);
    const push = (child: unknown, key: string) => {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: level.depth + 1, parent: level, key });
    };
    if (Array.isArray(level.value)) level.value.forEach((child, index) => push(child, String(index)));
    else for (const [key, child] of Object.entries(level.value)) push(child, key);
  }
  return null;
}

function pathOf(level: Level): string[] {
  const keys: string[] = [];
  for (let at: Level | null = level; at?.parent; at = at.parent) keys.push(at.key);
  return keys.reverse();
}
