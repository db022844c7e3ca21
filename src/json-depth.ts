/**
 * How deep a JSON value nests, measured without recursion, so that measuring a hostile value
 * cannot itself overflow the stack. `{}` and `[]` are depth 1, a scalar is depth 0.
 *
 * The relay refuses events nested deeper than `DEFAULTS.http.maxJsonDepth` at ingest: structured clone
 * (the hand-off between threads), `JSON.stringify` and the SDKs all recurse, and a value a few
 * thousand levels deep overflows the stack in any of them.
 */

/** True when `value` nests deeper than `limit`; stops looking as soon as it does. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const inner = depth + 1;
    if (inner > limit) return true;
    const children = Array.isArray(current) ? current : Object.values(current as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, inner]);
  }
  return false;
}
