/**
 * Whether `value` is a JSON object: an object that is neither null nor an array (what
 * `JSON.parse` gives for `{…}`). The one test for it, wherever data read from outside (a
 * webhook's envelope, the rules file, an entry of the log) is told apart from other JSON.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
