import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import type { YamlPath } from './interpolate.js';
import type { Reporter } from './reporter.js';

/**
 * Reports zod issues at their YAML nodes in words a rules author reads: unknown keys at
 * the key itself (with a suggestion from `knownKeys`), missing keys at their mapping.
 */
export function reportIssues(
  issues: readonly z.core.$ZodIssue[],
  base: YamlPath,
  reporter: Reporter,
  options: {
    knownKeys?: (path: YamlPath) => string[];
    skip?: (path: YamlPath) => boolean;
    /** Said after an unknown key, e.g. ` for a slack action`. */
    keyContext?: string;
    /** The data at `base`: zod leaves `input` out of some issues. */
    data?: unknown;
  } = {},
): void {
  const { knownKeys = () => [], skip = () => false, keyContext = '', data } = options;
  for (const issue of issues) {
    const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (skip(path)) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        reporter.error(path, `unknown key "${key}"${keyContext}${didYouMean(key, knownKeys(path))}`, key);
      }
      continue;
    }
    reporter.error(path, describe(issue, path, 'input' in issue && issue.input !== undefined ? issue.input : valueAtPath(data, path.slice(base.length))));
  }
}

function describe(issue: z.core.$ZodIssue, path: YamlPath, input: unknown): string {
  // The position already says where; name the key so the message reads on its own.
  const key = [...path].reverse().find((p) => typeof p === 'string');
  const where = key !== undefined ? `${key}: ` : '';
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return `missing required key "${String(path[path.length - 1])}"`;
      return `${where}expected ${issue.expected}, got ${kindOf(input)}`;
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator && 'options' in issue) {
        const options = (issue.options as unknown[]).map(String);
        return `${where}unknown value ${JSON.stringify(input)} (expected ${options.join(', ')})${didYouMean(String(input), options)}`;
      }
      return path[path.length - 1] === 'on'
        ? `${where}expected an event type or a list of event types`
        : `${where}expected a string, a number or true/false`;
    }
    case 'invalid_value':
      if (input === undefined) return `missing required key "${String(path[path.length - 1])}"`;
      return `${where}unknown value ${JSON.stringify(input)} (expected ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
    default:
      return `${where}${issue.message}`;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** The value at a path of plain parsed YAML. */
export function valueAtPath(root: unknown, path: YamlPath): unknown {
  let v: unknown = root;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[segment];
  }
  return v;
}
