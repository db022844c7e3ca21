/**
 * A JSON value as cel-js should see it. cel-js picks how to read a value by its
 * `constructor`, so a plain object with its own `constructor` key (an event whose data has
 * `"constructor": …`) made every `when` reading `data` fail. Such a value has its objects
 * turned into `Map`s, whose keys cannot shadow anything; other values (nearly all) are passed
 * as they are (cel-js reads own properties only, so `__proto__`, `toString` or
 * `hasOwnProperty` keys are ordinary data). No recursion: nesting is unbounded in events
 * logged before the ingest depth limit.
 */
export function toCelValue(value: unknown): unknown {
  if (!hasConstructorKey(value)) return value;
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

/** True when some object in `value` has an own key `constructor`. */
function hasConstructorKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(v, 'constructor')) return true;
    for (const key in v) {
      const item = (v as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object') stack.push(item);
    }
  }
  return false;
}
