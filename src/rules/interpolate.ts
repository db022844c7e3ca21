export type YamlPath = (string | number)[];

export interface UnsetVariable {
  path: YamlPath;
  variable: string;
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` in every string of a parsed YAML value with `env[VAR]` (`$${` stays a
 * literal `${`). The caller passes the environment, so nothing here reads `process.env`.
 * An unset or empty variable becomes `` and is reported with the path of its string.
 */
export function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
): { value: unknown; unset: UnsetVariable[] } {
  const unset: UnsetVariable[] = [];
  const walk = (v: unknown, path: YamlPath): unknown => {
    if (typeof v === 'string') {
      return v.replace(REFERENCE, (whole, name: string | undefined) => {
        if (name === undefined) return '${';
        const found = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
        if (found === undefined || found === '') {
          unset.push({ path, variable: name });
          return '';
        }
        return found;
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]));
    }
    return v;
  };
  return { value: walk(value, []), unset };
}
