import { z } from 'zod';
import type { YamlPath } from './interpolate.js';

/**
 * The keys a mapping may have at `path`, found by walking the zod schema alongside the
 * data (a discriminated union picks the option the data names). For "did you mean".
 */
export function knownKeys(schema: z.ZodType, data: unknown, path: YamlPath): string[] {
  let node: z.ZodType | undefined = schema;
  let value: unknown = data;
  for (const segment of path) {
    node = node && step(unwrap(node, value), segment);
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[segment] : undefined;
    if (!node) return [];
  }
  const last = node && unwrap(node, value);
  return last instanceof z.ZodObject ? Object.keys(last.shape) : [];
}

function unwrap(node: z.ZodType, value: unknown): z.ZodType {
  let current = node;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodDiscriminatedUnion) {
      const key = current._zod.def.discriminator;
      const wanted = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
      const option = (current.options as z.ZodType[]).find(
        (o) => o instanceof z.ZodObject && (o.shape[key] as z.ZodType)?.safeParse(wanted).success,
      );
      if (!option) return current;
      current = option;
    } else if (current instanceof z.ZodUnion) {
      const option = (current.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
      if (!option) return current;
      current = option;
    } else return current;
  }
}

function step(node: z.ZodType, segment: string | number): z.ZodType | undefined {
  if (node instanceof z.ZodObject) return node.shape[segment] as z.ZodType | undefined;
  if (node instanceof z.ZodArray) return node.element as z.ZodType;
  if (node instanceof z.ZodRecord) return node._zod.def.valueType as z.ZodType;
  return undefined;
}
