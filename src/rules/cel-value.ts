/**
 * A JSON value as cel-js should see it: objects become `Map`s. cel-js picks how to read a
 * value by its `constructor`, so a plain object with its own `constructor` key (an event whose
 * data has `"constructor": …`) made every `when` reading `data` fail; a Map's keys cannot
 * shadow anything (`__proto__`, `toString`, `hasOwnProperty` are ordinary keys). Converted
 * without recursion: nesting is unbounded in events logged before the ingest depth limit.
 */
export function toCelValue(value: unknown): unknown {
  const seen = converted.get(value as object);
  if (seen !== undefined) return seen;
  const convert = (v: unknown): unknown => (v !== null && typeof v === 'object' ? (Array.isArray(v) ? new Array(v.length) : new Map()) : v);
  const root = convert(value);
  const stack: [unknown, unknown][] = [[value, root]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    if (Array.isArray(from)) {
      const list = to as unknown[];
      from.forEach((item, i) => {
        list[i] = convert(item);
        if (list[i] !== item) stack.push([item, list[i]]);
      });
    } else if (from !== null && typeof from === 'object') {
      const map = to as Map<string, unknown>;
      for (const [key, item] of Object.entries(from)) {
        const c = convert(item);
        map.set(key, c);
        if (c !== item) stack.push([item, c]);
      }
    }
  }
  if (value !== null && typeof value === 'object') converted.set(value, root);
  return root;
}

/** One conversion per event object, however many rules read it. */
const converted = new WeakMap<object, unknown>();
